"""Jobs go to the workers of their model: one queue per model, no job failed for reaching the wrong worker."""
from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from conftest import start_worker
from generation import services
from generation.models import GenerationJob

TINY = dict(num_inference_steps=2, width=64, height=64)


def test_each_model_has_its_own_queue():
    assert services.queue_name("") == services.queue_name(None) == "generation"
    a, b = services.queue_name("embedded-random"), services.queue_name("stable-diffusion-v1-5/stable-diffusion-v1-5")
    assert a.startswith("generation--embedded-random-") and b.startswith("generation--stable-diffusion-v1-5-stable-diffusion")
    assert len({a, b, services.queue_name("Embedded-Random")}) == 3  # the hash keeps ids that slug alike apart


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_of_two_models_each_run_only_their_models_jobs(redis_conn, client, merchandiser, django_capture_on_commit_callbacks):
    # given jobs for two models queued at once, before any worker runs
    with django_capture_on_commit_callbacks(execute=True):
        default_jobs = [services.job_create(prompt=f"red mug {i}", seed=i, **TINY) for i in range(3)]
        random_jobs = [services.job_create(prompt=f"blue bottle {i}", seed=i, model_id="embedded-random", **TINY) for i in range(3)]
    assert services.get_queue("").count == 3 and services.get_queue("embedded-random").count == 3
    # a job for a model no worker serves says so on its page
    client.force_login(merchandiser)
    assert client.get(reverse("generation:job_progress", args=[random_jobs[0].pk])).json()["workers_online"] == 0
    # when a worker of each model runs (real processes, started together)
    workers = [start_worker("--burst"), start_worker("--burst", SDSTUDIO_MODEL="embedded-random")]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output
    # then every job ran once, on a worker of its model, and none failed
    for jobs, label in ((default_jobs, "sdstudio-embedded-products-v5"), (random_jobs, "sdstudio-embedded-sd15-v1")):
        for job in jobs:
            job.refresh_from_db()
            assert job.status == "succeeded" and job.attempts == 1, (job.pk, job.status, job.error)
            assert job.environment["model"] == label
    assert len({job.worker_name for job in default_jobs}) == 1 and len({job.worker_name for job in random_jobs}) == 1
    assert default_jobs[0].worker_name != random_jobs[0].worker_name


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_job_form_offers_the_models_live_workers_serve(redis_conn, client, merchandiser):
    worker = start_worker(SDSTUDIO_MODEL="embedded-random")
    try:
        import time

        deadline = time.monotonic() + 120
        while "embedded-random" not in services.served_models() and time.monotonic() < deadline:
            time.sleep(0.3)
        client.force_login(merchandiser)
        page = client.get(reverse("generation:job_create")).content.decode()
        assert '<option value="embedded-random">embedded-random (1 worker)</option>' in page
        assert "(configured)" in page
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
