"""Faults survived with real Redis and real worker processes: nothing lost, nothing stuck, every job explained."""
from __future__ import annotations

import io
import os
import signal
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from conftest import GATED_WORKER, run_worker_burst, start_worker
from generation import services
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_held_worker(gate, job: GenerationJob, step: int, *args: str, **env: str):
    """A real worker that stops ``job`` at denoising step ``step`` until ``gate/release`` exists (gated_worker)."""
    return start_worker(*GATED_WORKER, *args, SDSTUDIO_TEST_GATE_DIR=str(gate), SDSTUDIO_TEST_HOLD_JOB=str(job.pk),
                        SDSTUDIO_TEST_HOLD_AT_STEP=str(step), **env)


def wait_for_hold(gate, worker, what: str = "the job to reach its step") -> None:
    wait_until(lambda: (gate / "step").exists() or worker.poll() is not None, 120, what)
    assert (gate / "step").exists(), f"the worker exited before {what}"


def kill_worker_mid_job(job: GenerationJob, gate) -> None:
    """Start a worker, wait until it is denoising the job (held at step 2), then SIGKILL it (no clean-up of any kind)."""
    worker = start_held_worker(gate, job, 2)
    try:
        wait_for_hold(gate, worker)
        assert GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_worker_killed_mid_job_is_retried_by_the_next_worker(redis_conn, tmp_path):
    # given a job running on a worker
    job = queue_job(num_inference_steps=8)
    # when its worker is killed with SIGKILL in the middle of denoising
    kill_worker_mid_job(job, tmp_path)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.attempts == 1
    # and a new worker starts (its start-up reconcile finds the stale heartbeat)
    time.sleep(1.5)
    log = run_worker_burst(SDSTUDIO_HEARTBEAT_STALE_SECONDS="1")
    # then the job ends succeeded with its file after a second attempt, and no row is left running
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, (job.error, log)
    assert job.attempts == 2 and job.output and job.output.storage.exists(job.output.name)
    assert not GenerationJob.objects.filter(status=Status.RUNNING).exists()


def test_worker_killed_on_the_last_attempt_fails_with_a_reason(redis_conn, settings, tmp_path):
    job = queue_job(num_inference_steps=8)
    GenerationJob.objects.filter(pk=job.pk).update(attempts=2)  # two attempts already spent (limit 3)
    kill_worker_mid_job(job, tmp_path)
    time.sleep(1.5)
    settings.SDSTUDIO_HEARTBEAT_STALE_SECONDS = 1
    out = io.StringIO()
    call_command("reconcile_jobs", stdout=out)
    job.refresh_from_db()
    assert "failed: 1" in out.getvalue()
    assert job.status == Status.FAILED and job.attempts == 3
    assert "stopped answering" in job.error


def test_redis_flushed_with_jobs_queued_every_job_runs_once(redis_conn):
    # given three queued jobs whose RQ messages are lost (Redis restarted empty)
    jobs = [queue_job(seed=seed) for seed in (1, 2, 3)]
    redis_conn.flushall()
    # when the reconciler runs and a worker drains the queue
    out = io.StringIO()
    call_command("reconcile_jobs", stdout=out)
    assert "enqueued: 3" in out.getvalue()
    run_worker_burst()
    # then each job ran exactly once
    for job in jobs:
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED and job.attempts == 1


def test_submitting_while_redis_is_down_succeeds_and_runs_later(redis_server, redis_conn, client, merchandiser):
    # given Redis is down
    redis_server.stop()
    client.force_login(merchandiser)
    # when a merchandiser submits a job
    response = client.post(reverse("generation:job_create"), {
        "mode": "text2img", "prompt": "black headphones", "seed": "5", "num_inference_steps": "2", "guidance_scale": "7.5",
        "scheduler": "euler_a", "width": "64", "height": "64", "variants": "1"})
    # then the request succeeds and the job waits, queued
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert client.get(job.get_absolute_url()).status_code == 200
    assert job.status == Status.QUEUED and job.rq_job_id == ""
    # when Redis is back, a worker starts: its start-up reconcile enqueues the job, and it runs
    redis_server.start()
    # (the start-up reconcile leaves rows younger than a few seconds to the normal enqueue)
    GenerationJob.objects.filter(pk=job.pk).update(updated_at=job.updated_at - timedelta(seconds=30))
    run_worker_burst()
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 1


def test_job_past_its_timeout_fails_and_the_next_job_runs_on_the_same_worker(redis_conn, settings, tmp_path):
    settings.SDSTUDIO_JOB_TIMEOUT = 2
    slow = queue_job(num_inference_steps=8)
    quick = queue_job()
    # the slow job stops at its first step and is never let go: only the 2 s limit can end it
    log = run_worker_burst(args=GATED_WORKER, SDSTUDIO_JOB_TIMEOUT="2", SDSTUDIO_TEST_GATE_DIR=str(tmp_path),
                           SDSTUDIO_TEST_HOLD_JOB=str(slow.pk), SDSTUDIO_TEST_HOLD_AT_STEP="1")
    slow.refresh_from_db()
    quick.refresh_from_db()
    assert slow.status == Status.FAILED and slow.error == "Timed out: the job ran past its 2 s limit."
    assert quick.status == Status.SUCCEEDED
    assert slow.worker_name == quick.worker_name, "the same worker process went on to the next job"
    assert log.count("ready: sdstudio-embedded") == 1


def test_cancel_of_a_running_job_stops_it_at_the_next_step(redis_conn, tmp_path):
    job = queue_job(num_inference_steps=20)
    worker = start_held_worker(tmp_path, job, 3)
    try:
        wait_for_hold(tmp_path, worker)
        # when a person cancels it while it denoises (held at step 3 of 20)
        assert services.job_cancel(job=GenerationJob.objects.get(pk=job.pk), user=None) == Status.RUNNING
        (tmp_path / "release").touch()
        wait_until(lambda: GenerationJob.objects.get(pk=job.pk).is_finished, 60, "the job to stop")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    job.refresh_from_db()
    # then it stops at the step where the cancel was read, without an output
    assert job.status == Status.CANCELED and not job.output
    assert job.progress_step == 3


def test_an_idle_worker_reconciles_on_time_and_runs_jobs_redis_lost(redis_conn, tmp_path):
    # given a worker busy with a long job (held at its first step) while three more wait
    long_job = queue_job(num_inference_steps=4)
    waiting = [queue_job(seed=seed) for seed in (1, 2, 3)]
    worker = start_held_worker(tmp_path, long_job, 1, SDSTUDIO_RECONCILE_INTERVAL="5", SDSTUDIO_PROGRESS_INTERVAL="0.2")
    try:
        wait_for_hold(tmp_path, worker, "the long job to start")
        # when Redis loses the waiting jobs' messages, and the worker, once done, has nothing queued (idle)
        redis_conn.flushdb()
        (tmp_path / "release").touch()
        wait_until(lambda: GenerationJob.objects.filter(pk=long_job.pk, status=Status.SUCCEEDED).exists(), 120, "the long job to end")
        # then its own reconcile pass (every 5 s here, every minute by default) puts them back, and they run:
        # the wait is bounded well below rq's own idle wait (worker_ttl - 15 = 405 s), after which it would look anyway
        wait_until(lambda: GenerationJob.objects.filter(pk__in=[j.pk for j in waiting], status=Status.SUCCEEDED).count() == 3,
                   120, "the lost jobs to run on the idle worker")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    for job in waiting:
        job.refresh_from_db()
        assert job.attempts == 1


def test_a_worker_outlives_a_redis_restart_and_serves_the_jobs_after_it(redis_server, redis_conn, tmp_path):
    # given a worker serving, busy with a job (held at its second step)
    first = queue_job(num_inference_steps=6)
    worker = start_held_worker(tmp_path, first, 2, SDSTUDIO_RECONCILE_INTERVAL="3", SDSTUDIO_PROGRESS_INTERVAL="0.2",
                               SDSTUDIO_HEARTBEAT_STALE_SECONDS="5")
    try:
        wait_for_hold(tmp_path, worker, "the job to start")
        # when Redis goes away while the job denoises, the job ends with Redis still away, and Redis comes back empty
        redis_server.stop()
        (tmp_path / "release").touch()
        wait_until(lambda: GenerationJob.objects.filter(pk=first.pk, status=Status.SUCCEEDED).exists(), 120,
                   "the job to end while Redis is away")
        time.sleep(1.0)  # rq's bookkeeping after the job meets the missing Redis: its loop ends on that error
        redis_server.start()
        # then the same process serves on: the job it had, and one queued after the restart, succeed
        second = queue_job(seed=5)
        wait_until(lambda: GenerationJob.objects.filter(pk__in=[first.pk, second.pk], status=Status.SUCCEEDED).count() == 2,
                   120, "both jobs to succeed on the worker")
        assert worker.poll() is None, "the worker exited"
        second.refresh_from_db()
        assert second.worker_name.endswith(f":{worker.pid}")
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert "serving again" in output
