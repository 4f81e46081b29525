"""SD v1.5 as a user gets it: by Hub id from the Hugging Face cache, offline, safety checker and fp16 files included.

The cache is written in the Hub's exact layout (generation/tests/hubcache.py) with toy weights of the right
architecture family; SD Studio's own code resolves and loads it, in a real worker process.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from django.test import override_settings
from django.urls import reverse

from conftest import login, run_worker_burst, shot, start_worker
from generation import modelinfo, services
from generation.inference.config import ConfigurationError
from generation.modelinfo import SD15_HUB_ID
from generation.tests.hubcache import commit_for, repo_folder_name, write_hub_cache, write_snapshot
from generation.tests.hubserver import HubServer
from sdstudio.images import open_image

TINY = dict(num_inference_steps=2, width=64, height=64)
MAIN = commit_for("main")  # refs/main: a checker that flags nothing (its thresholds are 1)
STRICT = commit_for("strict")  # reachable by its hash only: a checker that flags everything (thresholds -1)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf-cache")
    write_hub_cache(cache, commit=MAIN)
    write_hub_cache(cache, commit=STRICT, ref=None, safety_threshold=-1.0)
    return cache


def test_the_cache_has_the_hubs_layout(hub_cache):
    repo = hub_cache / repo_folder_name(SD15_HUB_ID)
    assert repo.name == "models--stable-diffusion-v1-5--stable-diffusion-v1-5"
    assert (repo / "refs" / "main").read_text() == MAIN
    snapshot = repo / "snapshots" / MAIN
    for name in ("model_index.json", "unet/diffusion_pytorch_model.fp16.safetensors", "safety_checker/model.safetensors",
                 "feature_extractor/preprocessor_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt"):
        path = snapshot / name
        assert path.is_symlink() and path.resolve().parent == repo / "blobs", name


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sd15_by_hub_id_runs_offline_in_a_real_worker_in_fp16_with_its_safety_checker(
        hub_cache, redis_conn, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="product shot of a red mug", seed=3, model_id=SD15_HUB_ID, **TINY)
    assert services.get_queue(SD15_HUB_ID).count == 1
    log = run_worker_burst(SDSTUDIO_MODEL=SD15_HUB_ID, SDSTUDIO_DTYPE="fp16", HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(hub_cache))
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, log)
    environment = job.environment
    assert environment["model"] == SD15_HUB_ID and environment["dtype"] == "float16"
    assert environment["variant"] == "fp16"  # the fp16 files: half the download
    assert environment["model_commit"] == MAIN  # refs/main resolved to its commit
    assert environment["safety_checker"] == "on"
    assert job.nsfw_flagged is False and job.nsfw_score is not None and job.nsfw_score <= 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_flagged_output_keeps_its_pixels_and_is_blurred_in_the_review_queue(
        hub_cache, redis_conn, client, reviewer, page, live_server, django_capture_on_commit_callbacks):
    # given a revision whose safety checker flags every image (its concept thresholds set to -1 in its weights)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="product shot of a red mug", seed=3, model_id=SD15_HUB_ID, **TINY)
    log = run_worker_burst(SDSTUDIO_MODEL=SD15_HUB_ID, SDSTUDIO_MODEL_REVISION=STRICT, HF_HUB_OFFLINE="1",
                           HF_HUB_CACHE=str(hub_cache))
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, log)
    assert job.environment["model_commit"] == STRICT and "variant" not in job.environment  # fp32 worker, fp32 files
    # then the job is stored as flagged, with the real pixels (diffusers would have returned a black image)
    assert job.nsfw_flagged is True and job.nsfw_score > 0
    pixels = np.asarray(open_image(job.output))
    assert pixels.max() > 0 and pixels.std() > 1
    # the API says so too
    from api.tests.test_api import client_for

    api, _ = client_for(reviewer)
    assert api.get(f"/api/jobs/{job.pk}/").json()["nsfw_flagged"] is True
    # and reviewers see it blurred, with the warning
    client.force_login(reviewer)
    queue = client.get(reverse("evaluation:queue")).content.decode()
    assert f'alt="Output {job.pk}" loading="lazy" class="flagged"' in queue
    assert "flagged by the safety checker" in queue
    detail = client.get(job.get_absolute_url()).content.decode()
    assert 'id="output-image" class="flagged"' in detail and 'id="safety-warning"' in detail
    # in a browser: the thumbnail is drawn blurred; on the job page "Show the image" lifts the blur
    login(page, live_server, "reviewer")
    page.goto(live_server.url + reverse("evaluation:queue"))
    thumbnail = page.locator(f'img[alt="Output {job.pk}"]')
    assert "blur" in thumbnail.evaluate("img => getComputedStyle(img).filter")
    shot(page, "review-queue-flagged")
    page.goto(live_server.url + job.get_absolute_url())
    output = page.locator("#output-image")
    assert "blur" in output.evaluate("img => getComputedStyle(img).filter")
    shot(page, "job-flagged")
    page.click("#reveal-output")
    assert output.evaluate("img => getComputedStyle(img).filter") == "none"


@pytest.mark.django_db
def test_a_local_folder_loads_and_the_checker_can_be_turned_off(hub_cache):
    from generation.inference import pipelines, runner

    folder = hub_cache / repo_folder_name(SD15_HUB_ID) / "snapshots" / STRICT
    spec = runner.JobSpec(prompt="a red mug", seed=1, **TINY)
    with override_settings(SDSTUDIO_MODEL=str(folder)):
        loaded = pipelines.load_pipelines(dataclasses.replace(modelinfo.inference_config(), device="cpu"))
        assert "model_commit" not in loaded.fingerprint() and loaded.fingerprint()["model_revision"] == "local"
        assert runner.run(spec, loaded).safety.flagged is True
    with override_settings(SDSTUDIO_MODEL=str(folder), SDSTUDIO_SAFETY_CHECKER=False):
        unchecked = pipelines.load_pipelines(dataclasses.replace(modelinfo.inference_config(), device="cpu"))
        assert unchecked.safety is None and unchecked.text2img.safety_checker is None
        assert unchecked.fingerprint()["safety_checker"] == "off"
        assert runner.run(spec, unchecked).safety is None


def test_an_fp16_only_cache_serves_an_fp32_worker_and_a_missing_model_says_what_to_do(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from generation.inference import hub

    write_hub_cache(tmp_path, commit=MAIN, variants=("fp16",))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    files = hub.locate(SD15_HUB_ID, revision=None, dtype_name="float32")
    assert files.variant == "fp16" and files.commit == MAIN and files.has_safety_checker
    with pytest.raises(ConfigurationError, match="not in the Hugging Face cache .* HF_HUB_OFFLINE=1"):
        hub.locate("stable-diffusion-v1-5/not-downloaded", revision=None, dtype_name="float16")


def test_the_variant_follows_the_workers_precision():
    from generation.inference.hub import choose_variant

    both = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]
    assert choose_variant(both, "float16") == "fp16" and choose_variant(both, "bfloat16") == "fp16"
    assert choose_variant(both, "float32") is None
    assert choose_variant(["diffusion_pytorch_model.safetensors"], "float16") is None


@pytest.fixture
def repository(tmp_path):
    """SD v1.5's files (toy weights), to serve from a local Hub."""
    source = tmp_path / "repository"
    write_snapshot(source)
    return source


def online(hub: HubServer, tmp_path, **extra) -> dict:
    """A worker's environment: SD v1.5 by Hub id, downloads allowed from the local Hub, an empty cache."""
    return dict(SDSTUDIO_MODEL=SD15_HUB_ID, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "cache"),
                HF_HUB_DISABLE_TELEMETRY="1", **extra)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_downloads_only_the_fp16_files_and_says_how_far_it_is(repository, tmp_path, redis_conn,
                                                                      django_capture_on_commit_callbacks):
    # given the repository on a local Hub (HTTP, rate-limited) and an empty cache
    source = repository
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="a red mug", seed=1, model_id=SD15_HUB_ID, **TINY)
    with HubServer(SD15_HUB_ID, source, MAIN, bytes_per_second=250_000) as hub:
        worker = start_worker("--burst", **online(hub, tmp_path, SDSTUDIO_DTYPE="fp16"))
        seen = []
        while worker.poll() is None:
            seen += [state for state in services.workers_loading(SD15_HUB_ID) if state["state"] == "downloading"]
            time.sleep(0.1)
        output = worker.stdout.read()
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, output)
    assert job.environment["model_commit"] == MAIN and job.environment["variant"] == "fp16"
    # only the fp16 weights travelled: half the download
    weights = [request for request in hub.requests if request.startswith("GET") and request.endswith(".safetensors")]
    assert weights and all(request.endswith(".fp16.safetensors") for request in weights), weights
    fp16_bytes = sum(path.stat().st_size for path in source.rglob("*.fp16.safetensors"))
    # and the pages heard how far it was, in bytes of what it was fetching
    assert seen, output
    total = seen[-1]["total"]
    assert fp16_bytes <= total < fp16_bytes + 100_000
    assert all(0 <= state["done"] <= total * 1.05 for state in seen)
    assert any(0 < state["done"] < total for state in seen)  # seen part-way


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_local_folder_of_the_repository_serves_jobs_in_a_real_worker(hub_cache, redis_conn, django_capture_on_commit_callbacks):
    folder = str(hub_cache / repo_folder_name(SD15_HUB_ID) / "snapshots" / MAIN)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="product shot of a red mug", seed=3, model_id=folder, **TINY)
    log = run_worker_burst(SDSTUDIO_MODEL=folder, HF_HUB_OFFLINE="1")
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, log)
    assert job.environment["model"] == folder and job.environment["model_revision"] == "local"
    assert job.environment["safety_checker"] == "on" and job.nsfw_flagged is False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_checker_off_its_weights_are_not_even_downloaded(repository, tmp_path, redis_conn,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="a red mug", seed=1, model_id=SD15_HUB_ID, **TINY)
    with HubServer(SD15_HUB_ID, repository, MAIN, bytes_per_second=50_000_000) as hub:
        log = run_worker_burst(**online(hub, tmp_path, SDSTUDIO_SAFETY_CHECKER="off"))
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, log)
    assert job.environment["safety_checker"] == "off" and job.nsfw_flagged is None and job.nsfw_score is None
    fetched = [request for request in hub.requests if request.startswith("GET") and "/resolve/" in request]
    assert any("/unet/diffusion_pytorch_model.safetensors" in request for request in fetched)  # fp32 worker: full files
    assert not [request for request in fetched if "/safety_checker/" in request]
