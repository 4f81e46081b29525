"""Draft previews: the UNet's deep features reused between steps; deterministic, recorded, and one click from the full image."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import login, run_worker_burst
from generation.inference.deepcache import DeepCache
from generation.models import GenerationJob


def test_a_draft_reuses_deep_features_and_is_deterministic_and_leaves_the_unet_as_it_was(loaded):
    from generation.inference import runner

    spec = dict(mode="text2img", prompt="red mug on a wooden table", seed=5, num_inference_steps=9, width=64, height=64)
    full = [np.asarray(runner.run(runner.JobSpec(**spec), loaded).image) for _ in range(2)]
    draft = [np.asarray(runner.run(runner.JobSpec(**spec, speed="draft"), loaded).image) for _ in range(2)]
    # each is identical to itself on the same seed; the draft is another, close image
    assert (full[0] == full[1]).all() and (draft[0] == draft[1]).all()
    assert (draft[0] != full[0]).any()
    # a full UNet pass every fourth step (1, 5 and 9 of 9); the steps between run only its last layer
    unet = loaded.text2img.unet
    deep, last = [], []
    hooks = [unet.mid_block.resnets[0].register_forward_hook(lambda *args: deep.append(1)),  # runs only in a full pass
             unet.up_blocks[-1].resnets[-1].register_forward_hook(lambda *args: last.append(1))]  # runs at every step
    try:
        with DeepCache(unet, 4) as cache:
            runner.run(runner.JobSpec(**spec), loaded)
    finally:
        for hook in hooks:
            hook.remove()
    assert cache.calls == 9 and cache.full_passes == 3 == len(deep) and len(last) == 9
    # SD Studio's drafts run the first and the last tenth of the steps whole: 20 steps, full passes at 1-2, 3, 7, 11,
    # 15 and 19-20 (every fourth between)
    scheduler = loaded.text2img.scheduler
    scheduler.set_timesteps(20)
    policy = DeepCache.for_steps(unet, 20, scheduler)
    assert (policy.warmup, policy.tail, policy.interval) == (2, 2, 4)
    with policy, torch.no_grad():
        full_steps = []
        for step, timestep in enumerate(scheduler.timesteps, start=1):
            before = policy.full_passes
            unet(torch.zeros(1, 4, 8, 8), timestep, torch.zeros(1, 77, unet.config.cross_attention_dim))
            if policy.full_passes > before:
                full_steps.append(step)
    assert full_steps == [1, 2, 3, 7, 11, 15, 19, 20]
    # and afterwards the UNet is its own again (the full image is the full image)
    assert "forward" not in unet.__dict__
    assert (np.asarray(runner.run(runner.JobSpec(**spec), loaded).image) == full[0]).all()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_draft_is_recorded_in_its_parameters_png_text_and_provenance(redis_conn):
    from generation import services
    from generation.tests.test_credentials import manifest_store

    from generation.tests.factories import queue_job

    # given a draft made by a real worker
    draft = queue_job(prompt="red mug on a wooden table", seed=7, num_inference_steps=6, speed="draft")
    run_worker_burst()
    draft.refresh_from_db()
    assert draft.status == "succeeded", draft.error
    data = draft.output.open("rb").read()
    image = Image.open(io.BytesIO(data))
    # then its parameters say draft, in SD Studio's own chunk, the A1111 text and the signed manifest
    assert json.loads(image.text["sdstudio"])["parameters"]["speed"] == "draft"
    assert "Speed: draft" in image.text["parameters"]
    _, store = manifest_store(data)
    actions = [a for assertion in store["manifests"][store["active_manifest"]]["assertions"]
               if assertion["label"].startswith("c2pa.actions") for a in assertion["data"]["actions"]]
    assert actions[-1]["parameters"]["speed"] == "draft"
    # and a re-run of it is a draft again, pixel for pixel
    rerun = services.job_rerun(job=draft, user=None)
    run_worker_burst()
    rerun.refresh_from_db()
    assert rerun.speed == "draft" and rerun.rerun_result == "identical", rerun.error


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_draft_button_and_make_the_full_image_work_in_a_browser(page, live_server, merchandiser, redis_conn):
    login(page, live_server, "merch")
    page.goto(live_server.url + "/jobs/new/")
    page.fill("#id_prompt", "red mug on a wooden table")
    page.fill("#id_seed", "11")
    page.fill("#id_num_inference_steps", "6")
    page.fill("#id_width", "64")
    page.fill("#id_height", "64")
    page.click("#draft-button")
    draft = GenerationJob.objects.get()
    assert (draft.speed, draft.seed) == ("draft", 11)
    page.wait_for_url(f"{live_server.url}{draft.get_absolute_url()}")
    run_worker_burst()
    page.reload()
    assert "A draft" in page.inner_text("#draft-note")
    page.click("#make-full-button")
    full = GenerationJob.objects.exclude(pk=draft.pk).get()
    page.wait_for_url(f"{live_server.url}{full.get_absolute_url()}")
    assert (full.speed, full.seed, full.prompt, full.num_inference_steps) == ("full", 11, draft.prompt, 6)
    run_worker_burst()
    full.refresh_from_db()
    assert full.status == "succeeded" and full.output_sha256 != draft.output_sha256
    assert "Speed:" not in Image.open(full.output.open("rb")).text["parameters"]
