"""The database connection lost mid-job (PostgreSQL: the worker's backends ended by the server), and the disk full.

No job is lost or stuck, none is succeeded without its file, no stray file stays, and each job either succeeds
on a retry or fails with a sentence; the worker process serves on.
"""
from __future__ import annotations

import time

import pytest
from django.db import connection

from conftest import start_worker
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job
from generation.tests.test_reliability import start_held_worker, wait_for_hold, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
SLOW = "generation.tests.slow_storage_settings"


def terminate_other_backends() -> int:
    """End every other session on the test database, as a PostgreSQL restart or failover would (the test's own stays)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def job_files(job: GenerationJob) -> list[str]:
    from django.core.files.storage import default_storage

    found = []
    for folder in ("outputs", "thumbs"):
        stack = [folder]
        while stack:
            current = stack.pop()
            if not default_storage.exists(current):
                continue
            dirs, files = default_storage.listdir(current)
            stack += [f"{current}/{d}" for d in dirs]
            found += [f"{current}/{f}" for f in files if f.startswith(f"job{job.pk}-")]
    return found


def assert_settled(job: GenerationJob, worker) -> None:
    job.refresh_from_db()
    assert worker.poll() is None, "the worker exited"
    assert not GenerationJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).exists()
    if job.status == Status.SUCCEEDED:
        # at once (Django's health check reconnected before the write) or on a retry
        assert job.attempts in (1, 2) and job.output.storage.exists(job.output.name)
        # a failed attempt's files went with it: one output and one thumbnail
        assert sorted(job_files(job)) == sorted([job.output.name, job.thumbnail.name]), job_files(job)
    else:
        assert job.status == Status.FAILED and job.error, job.error
        assert job_files(job) == []


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("ending a worker's database session is a PostgreSQL fault (SQLite has no server); CI runs it")


def test_the_database_connection_lost_while_denoising(postgres, redis_conn, tmp_path):
    # given a worker denoising a job (held at step 2)
    job = queue_job(num_inference_steps=6)
    worker = start_held_worker(tmp_path, job, 2, SDSTUDIO_HEARTBEAT_STALE_SECONDS="2", SDSTUDIO_RECONCILE_INTERVAL="1",
                               SDSTUDIO_WORKER_CONN_MAX_AGE="600")
    try:
        wait_for_hold(tmp_path, worker)
        # when the server ends the worker's database sessions, then the job goes on
        assert terminate_other_backends() >= 1
        (tmp_path / "release").touch()
        # then the job ends (succeeded on a retry, or failed with a sentence) and the same worker serves the next one
        wait_until(lambda: GenerationJob.objects.get(pk=job.pk).is_finished, 120, "the job to end")
        after = queue_job(seed=9)
        wait_until(lambda: GenerationJob.objects.get(pk=after.pk).status == Status.SUCCEEDED, 120, "the next job to run")
        assert_settled(job, worker)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_the_database_connection_lost_while_storing(postgres, redis_conn, tmp_path):
    # given a worker storing a finished image (a slow storage: the image is made, the row still running)
    job = queue_job()
    worker = start_worker(DJANGO_SETTINGS_MODULE=SLOW, SDSTUDIO_TEST_MARKER_DIR=str(tmp_path), SDSTUDIO_TEST_SAVE_SECONDS="1",
                          SDSTUDIO_HEARTBEAT_STALE_SECONDS="2", SDSTUDIO_RECONCILE_INTERVAL="1")
    try:
        wait_until(lambda: (tmp_path / "saving").exists(), 120, "the worker to store the output")
        # when the server ends the worker's database sessions while it writes the file
        assert terminate_other_backends() >= 1
        wait_until(lambda: GenerationJob.objects.get(pk=job.pk).is_finished, 120, "the job to end")
        time.sleep(1.5)  # whatever the worker still does with the first attempt's files is done
        assert_settled(job, worker)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
