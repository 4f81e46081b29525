"""A job crosses the real boundaries: Django -> Redis (JSON payload) -> a real worker process -> PNG + row."""
from __future__ import annotations

import io
import json
import zlib

import pytest
from PIL import Image

from generation import services
from generation.experiments import STUDY_PROMPT
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job
from sdstudio.images import pixels_sha256

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


DEVICE = _default_device()


def read_output(job: GenerationJob) -> tuple[Image.Image, dict]:
    with job.output.open("rb") as handle:
        data = handle.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, dict(image.text)


def test_jobs_run_on_a_real_worker_with_parameters_in_the_png(burst_worker, redis_conn, photo):
    # given a text2img job and an img2img job, queued through the service
    t2i = queue_job(scheduler="ddim", negative_prompt="blurry")
    i2i = queue_job(mode="img2img", source_photo=photo, strength=0.6, num_inference_steps=4, prompt=STUDY_PROMPT)
    # then Redis carries the job's primary key only, as JSON
    raw = redis_conn.hget(f"rq:job:{services.rq_job_id(t2i)}", "data")
    func, instance, args, kwargs = json.loads(zlib.decompress(raw))  # JSON, not pickle
    assert (func, instance, args, kwargs) == (services.TASK_PATH, None, [t2i.pk], {})
    # when a real worker process drains the queue
    log = burst_worker()
    # then both succeeded with their files, parameters, timings and fingerprint
    for job in (t2i, i2i):
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED, (job.error, log)
        image, text = read_output(job)
        assert image.size == (64, 64)
        assert f"Seed: {job.seed}" in text["parameters"]
        assert json.loads(text["sdstudio"])["parameters"] == job.parameters()
        assert job.output_sha256 == pixels_sha256(image)
        assert job.attempts == 1 and job.thumbnail
        assert job.inference_seconds > 0 and job.seconds_per_step > 0 and job.queue_wait_seconds >= 0
        assert job.environment["model"] == "sdstudio-embedded-products-v5"
        # the device is the host's (SDSTUDIO_DEVICE=auto: CUDA where there is one); the generator is always on the CPU
        assert job.environment["generator_device"] == "cpu" and job.environment["device"] == DEVICE
        assert job.progress_step == job.progress_total > 0
    # the embedded model read the everyday prompt into its caption grammar, and the job says so (page, PNG); the
    # brief's prompt is in that grammar already and was given as typed
    caption = "product shot of black wireless headphones on a white background, studio lighting"
    assert t2i.prompt == "sleek black wireless headphones" and t2i.environment["prompt read as"] == caption
    assert json.loads(read_output(t2i)[1]["sdstudio"])["environment"]["prompt read as"] == caption
    assert "prompt read as" not in i2i.environment
    assert "Negative prompt: blurry" in read_output(t2i)[1]["parameters"]
    assert "Sampler: DDIM" in read_output(t2i)[1]["parameters"]
    assert "Denoising strength: 0.6" in read_output(i2i)[1]["parameters"]
    assert i2i.progress_total == 2  # 4 steps x strength 0.6
    assert i2i.fidelity_ssim is not None and i2i.fidelity_phash_distance is not None
    # the worker loaded the pipeline once at start; no job paid a load
    assert f"ready: sdstudio-embedded-products-v5 on {DEVICE}" in log
    assert "requires torchvision" not in log  # transformers' fallback to its PIL image processor is not news
    assert t2i.load_seconds == 0 and i2i.load_seconds == 0


def test_same_parameters_give_identical_pixels_and_rerun_says_so(burst_worker):
    # given a finished job
    original = queue_job(seed=1234)
    other_seed = queue_job(seed=1235)
    burst_worker()
    original.refresh_from_db()
    other_seed.refresh_from_db()
    # when it is re-run with its identical parameters
    rerun = services.job_rerun(job=original, user=None)
    burst_worker()
    rerun.refresh_from_db()
    # then the pixels are identical and the job says so; another seed differs
    assert rerun.status == Status.SUCCEEDED
    assert rerun.rerun_of_id == original.pk and rerun.seed == original.seed
    assert rerun.output_sha256 == original.output_sha256
    assert rerun.rerun_result == "identical" and rerun.rerun_max_pixel_diff == 0 and rerun.rerun_psnr is None
    assert other_seed.output_sha256 != original.output_sha256


def test_same_job_delivered_twice_runs_once(burst_worker, redis_conn):
    # given one job whose RQ message is delivered a second time (e.g. a requeue)
    job = queue_job()
    services.get_queue().enqueue(services.TASK_PATH, job.pk, job_id="duplicate-delivery")
    # when the worker processes both messages
    log = burst_worker()
    job.refresh_from_db()
    # then one attempt, one output file, and the second delivery was a no-op
    assert job.status == Status.SUCCEEDED and job.attempts == 1
    assert "is not queued any more" in log
    from django.core.files.storage import default_storage

    outputs = default_storage.listdir(job.output.name.rsplit("/", 1)[0])[1]
    assert sum(name.startswith(f"job{job.pk}-") for name in outputs) == 1


def test_a_job_for_another_model_waits_for_its_worker_instead_of_failing(burst_worker):
    job = queue_job(model_id="stable-diffusion-v1-5/stable-diffusion-v1-5")
    burst_worker()  # a worker of the embedded model: it does not even see the job (another model's queue)
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.attempts == 0
    # a job put by hand on the wrong queue is still refused with a reason, never run on the wrong model
    services.get_queue().enqueue(services.TASK_PATH, job.pk, job_id="by-hand", result_ttl=0)
    burst_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "serves 'sdstudio-embedded-products-v5'" in job.error and "SDSTUDIO_MODEL" in job.error
