"""Optional batching: compatible queued jobs share one pipeline call, one generator per job."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import TINY
from generation.fidelity import compare_pixels
from generation.inference import runner
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job


def spec(seed: int, **changes) -> runner.JobSpec:
    base = dict(mode="text2img", prompt=f"headphones {seed}", negative_prompt="", seed=seed, guidance_scale=7.5, scheduler="euler_a", **TINY)
    base.update(changes)
    return runner.JobSpec(**base)


def test_batch_images_match_their_single_runs_within_rounding(loaded):
    specs = [spec(seed) for seed in (1, 2, 3)]
    singles = [runner.run(s, loaded).image for s in specs]
    batch = [r.image for r in runner.run_batch(specs, loaded)]
    # each image comes from its own generator: the batch reproduces each single run up to float rounding
    for single, batched in zip(singles, batch):
        comparison = compare_pixels(single, batched)
        assert comparison.max_diff <= 2, comparison
    assert not np.array_equal(np.asarray(batch[0]), np.asarray(batch[1]))


def test_a_batch_must_share_its_shape(loaded):
    with pytest.raises(ValueError, match="A batch must share"):
        runner.run_batch([spec(1), spec(2, num_inference_steps=3)], loaded)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_batches_compatible_jobs_and_runs_the_rest_alone(burst_worker):
    same = [queue_job(seed=seed) for seed in range(4)]
    other = queue_job(seed=9, scheduler="ddim")
    log = burst_worker(SDSTUDIO_BATCH_MAX="4")
    for job in same + [other]:
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED and job.attempts == 1
    assert [job.environment.get("batch_size") for job in same] == [4, 4, 4, 4]
    assert "batch_size" not in other.environment
    assert log.count("is not queued any more") == 3  # the companions' own RQ messages found nothing to do
    assert GenerationJob.objects.filter(status=Status.SUCCEEDED).count() == 5
