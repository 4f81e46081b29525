"""A starting worker says what it is doing (downloading, loading, warming up), and the job page shows it."""
from __future__ import annotations

import time

import pytest
from django.urls import reverse

from conftest import GATED_WORKER, login, shot, start_worker
from generation.tests.test_reliability import wait_until
from generation import services
from generation.modelinfo import SD15_HUB_ID
from generation.worker import LoadReporter


@pytest.mark.django_db(transaction=True)
def test_a_downloading_worker_is_on_the_job_page_until_it_serves(redis_conn, page, live_server, merchandiser,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="product shot of a red mug", seed=1, model_id=SD15_HUB_ID,
                                  num_inference_steps=2, width=64, height=64, user=merchandiser)
    queue = services.queue_name(SD15_HUB_ID)
    reporter = LoadReporter(redis_conn, [queue], "worker-under-test", SD15_HUB_ID)
    try:
        reporter("downloading", done=1_234_000_000, total=2_130_000_000)
        assert services.workers_loading(SD15_HUB_ID) == [{
            "state": "downloading", "model": SD15_HUB_ID, "since": pytest.approx(time.time(), abs=5),
            "done": 1_234_000_000, "total": 2_130_000_000,
        }]
        assert services.workers_loading("") == []  # another model's queue sees nothing
        login(page, live_server, "merch")
        page.goto(live_server.url + job.get_absolute_url())
        text = page.locator("#progress-text")
        text.filter(has_text="downloading").wait_for()
        assert text.inner_text() == "queued: the worker is downloading SD v1.5: 1.2 of 2.1 GB"
        shot(page, "job-worker-downloading")
        reporter("loading")
        text.filter(has_text="the worker is loading SD v1.5").wait_for()
    finally:
        reporter.close()
    # once it serves (registered), the starting state is gone
    assert services.workers_loading(SD15_HUB_ID) == []
    text.filter(has_text="no worker serves").wait_for()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reports_loading_and_warming_before_it_takes_jobs(redis_conn, client, merchandiser, tmp_path,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(prompt="a red mug", seed=1, model_id="embedded-random", num_inference_steps=2, width=64, height=64)
    client.force_login(merchandiser)
    progress = reverse("generation:job_progress", args=[job.pk])
    # the worker stops once it says "warming" until the test lets it go (a warm-up on a GPU is over in milliseconds)
    worker = start_worker("--burst", *GATED_WORKER, SDSTUDIO_MODEL="embedded-random", SDSTUDIO_WARMUP_SHAPES="64x64",
                          SDSTUDIO_TEST_GATE_DIR=str(tmp_path), SDSTUDIO_TEST_HOLD_STATE="warming")
    try:
        wait_until(lambda: (tmp_path / "warming").exists() or worker.poll() is not None, 120, "the worker to warm up")
        assert worker.poll() is None, worker.communicate()[0]
        # then the job's progress says what the worker is doing, and the job form offers its model already
        payload = client.get(progress).json()
        assert [state["state"] for state in payload["workers_loading"]] == ["warming"]
        assert payload["workers_loading"][0]["model"] == "embedded-random"
        form = client.get(reverse("generation:job_create")).content.decode()
        assert "embedded-random (1 worker starting)" in form
        assert job.status == "queued"
        (tmp_path / "release").touch()
        output, _ = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    job.refresh_from_db()
    assert job.status == "succeeded", output
    # once it serves, the starting state is gone; its log says it loaded, then warmed up
    assert client.get(progress).json()["workers_loading"] == []
    assert output.index("loading embedded-random") < output.index("warming embedded-random") < output.index(" ready: ")


def test_a_worker_that_died_while_loading_drops_out_when_its_state_expires(redis_conn):
    queue = services.queue_name(SD15_HUB_ID)
    services.worker_loading_set(redis_conn, queue=queue, worker="dead", state={"state": "loading", "model": "m"}, ttl=1)
    services.worker_loading_set(redis_conn, queue=queue, worker="alive", state={"state": "warming", "model": "m"}, ttl=30)
    time.sleep(1.2)
    assert services.workers_loading(SD15_HUB_ID) == [{"state": "warming", "model": "m"}]
