"""Outputs stored on a thread while the next job runs: nothing lost on SIGKILL, failures on the right job, reads never wait."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, run_worker_burst, start_worker
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job
from generation.tests.test_reliability import wait_until

SLOW = "generation.tests.slow_storage_settings"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_storing_an_output_never_leaves_succeeded_without_file(redis_conn, tmp_path):
    # given a job whose image is made and is being stored (slow storage) on the worker's post-processing thread
    job = queue_job()
    worker = start_worker(DJANGO_SETTINGS_MODULE=SLOW, SDSTUDIO_TEST_MARKER_DIR=str(tmp_path))
    try:
        wait_until(lambda: (tmp_path / "saving").exists(), 120, "the worker to store the output")
        # when the worker is killed there, with no clean-up of any kind
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    job.refresh_from_db()
    assert job.status == Status.RUNNING and not job.output
    # then the reconciler of the next worker retries it, and it ends succeeded with its file
    time.sleep(1.5)
    log = run_worker_burst(SDSTUDIO_HEARTBEAT_STALE_SECONDS="1")
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, (job.error, log)
    assert job.attempts == 2 and job.output.storage.exists(job.output.name)
    assert job.pipeline_started_at <= job.pipeline_finished_at <= job.finished_at


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_storage_failure_fails_its_own_job_and_the_next_job_still_runs(redis_conn, tmp_path, settings):
    # given two queued jobs and a worker whose storage refuses outputs (disk full), with no attempts left to retry
    settings.SDSTUDIO_MAX_ATTEMPTS = 1
    first, second = queue_job(seed=1), queue_job(seed=2)
    # when the worker runs them
    log = run_worker_burst(DJANGO_SETTINGS_MODULE=SLOW, SDSTUDIO_TEST_MARKER_DIR=str(tmp_path), SDSTUDIO_TEST_SAVE_FAILS="1",
                           SDSTUDIO_MAX_ATTEMPTS="1")
    # then each is failed with the reason, none is succeeded, and the worker drained its queue before exiting
    for job in (first, second):
        job.refresh_from_db()
        assert job.status == Status.FAILED, log
        assert "Saving the output failed: OSError" in job.error and "No space left on device" in job.error


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_jobs_queued_together_all_succeed_with_pipeline_timings_in_order(redis_conn):
    jobs = [queue_job(seed=s) for s in range(4)]
    run_worker_burst()
    rows = list(GenerationJob.objects.filter(pk__in=[j.pk for j in jobs]).order_by("pipeline_started_at"))
    assert [r.status for r in rows] == [Status.SUCCEEDED] * 4
    # one pipeline call at a time: each starts after the previous one ended
    for before, after in zip(rows, rows[1:]):
        assert before.pipeline_finished_at <= after.pipeline_started_at


@pytest.mark.django_db
def test_sqlite_pages_read_while_a_writer_holds_its_transaction(tmp_path, settings):
    # given SD Studio's SQLite options (WAL, busy timeout) on a fresh database file
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from sdstudio.settings import SQLITE_OPTIONS

    path = tmp_path / "pages.sqlite3"
    web = DatabaseWrapper({**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
                           "OPTIONS": {**SQLITE_OPTIONS, "timeout": 1}, "TEST": {}}, alias="wal-check")
    with web.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("CREATE TABLE job (id INTEGER PRIMARY KEY, status TEXT)")
        cursor.execute("INSERT INTO job (status) VALUES ('running')")
    # when the worker (another connection) holds a write transaction open
    worker = sqlite3.connect(path, timeout=1, isolation_level=None)
    worker.execute("BEGIN EXCLUSIVE")
    worker.execute("UPDATE job SET status = 'succeeded'")
    try:
        # then a page's read answers with the last committed state: it does not wait for the writer's lock
        # (without WAL it would, and fail with "database is locked" after its 1 s timeout: the test below)
        with web.cursor() as cursor:
            cursor.execute("SELECT status FROM job")
            assert cursor.fetchone()[0] == "running"
    finally:
        worker.execute("ROLLBACK")
        worker.close()
        web.close()


def test_the_apps_own_sqlite_connection_uses_wal_and_a_busy_timeout(tmp_path):
    # given SD Studio's real settings on a SQLite database (the default when DATABASE_URL is unset)
    script = ("import django; django.setup()\n"
              "from django.db import connection\n"
              "with connection.cursor() as c:\n"
              "    c.execute('PRAGMA journal_mode'); mode = c.fetchone()[0]\n"
              "    c.execute('PRAGMA busy_timeout'); timeout = c.fetchone()[0]\n"
              "print(mode, timeout)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sdstudio.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # then the connection Django opens for the app is in WAL mode and waits 30 s for a lock (SQLite counts in ms)
    assert result.stdout.split()[-2:] == ["wal", "30000"], result.stdout


def test_without_wal_the_same_read_waits_for_the_writer(tmp_path):
    # the control: SQLite's default rollback journal makes the reader wait (and fail after its timeout)
    setup = sqlite3.connect(tmp_path / "plain.sqlite3", isolation_level=None)
    setup.execute("CREATE TABLE job (id INTEGER PRIMARY KEY, status TEXT)")
    setup.execute("INSERT INTO job (status) VALUES ('running')")
    setup.close()
    worker = sqlite3.connect(tmp_path / "plain.sqlite3", timeout=1, isolation_level=None)
    worker.execute("BEGIN EXCLUSIVE")
    worker.execute("UPDATE job SET status = 'succeeded'")
    reader = sqlite3.connect(tmp_path / "plain.sqlite3", timeout=0.3)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        reader.execute("SELECT status FROM job").fetchone()
    worker.execute("ROLLBACK")


@pytest.fixture
def restore_connection_settings():
    from django.db import connections

    saved = {alias: dict(connections.settings[alias]) for alias in connections}
    yield
    for alias, values in saved.items():
        connections[alias].close()
        connections.settings[alias].clear()
        connections.settings[alias].update(values)


@pytest.mark.django_db(transaction=True)
def test_the_worker_reuses_its_database_connection_between_jobs(restore_connection_settings):
    from django.db import close_old_connections, connection

    from generation.worker import keep_database_connections

    def connection_after_a_job():
        close_old_connections()  # what the worker does before and after every job
        GenerationJob.objects.exists()
        return connection.connection

    # with one connection per request or job (CONN_MAX_AGE 0), a job boundary opens a new connection
    connection.settings_dict["CONN_MAX_AGE"] = 0  # the web's is 60 s (DATABASE_CONN_MAX_AGE)
    connection.close()
    assert connection_after_a_job() is not connection_after_a_job()
    # in a worker, the connection outlives the job boundary
    keep_database_connections(600)
    first = connection_after_a_job()
    assert first is not None and connection_after_a_job() is first


@pytest.mark.django_db(transaction=True)
def test_the_progress_thread_closes_its_own_connection_however_long_connections_live(restore_connection_settings):
    from django.db.backends.signals import connection_created

    from generation.execution import ProgressReporter
    from generation.worker import keep_database_connections

    keep_database_connections(600)
    job = queue_job()
    GenerationJob.objects.filter(pk=job.pk).update(status=Status.RUNNING)
    opened = []

    def record(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            opened.append(connection)

    connection_created.connect(record)
    try:
        reporter = ProgressReporter([job.pk], interval=0.01)
        reporter.on_step(3, 20)
        wait_until(lambda: GenerationJob.objects.get(pk=job.pk).progress_step == 3, 10, "the progress write")
        reporter.close()
    finally:
        connection_created.disconnect(record)
    # then the reporter's thread opened a connection of its own and closed it before ending
    assert len(opened) == 1 and opened[0].connection is None
