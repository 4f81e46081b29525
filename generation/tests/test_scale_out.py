"""Scale-out on the configured database (PostgreSQL in CI): two worker processes share one queue."""
from __future__ import annotations

import time

import pytest
from rq import Worker

from conftest import start_worker
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_two_workers_run_twenty_jobs_each_exactly_once(redis_conn):
    # given two warm workers registered on the queue
    workers = [start_worker(), start_worker()]
    try:
        deadline = time.monotonic() + 180
        while len(Worker.all(connection=redis_conn)) < 2:
            assert time.monotonic() < deadline, "workers did not start"
            assert all(w.poll() is None for w in workers), "a worker exited"
            time.sleep(0.2)
        # when 20 jobs are queued
        jobs = [queue_job(seed=seed, width=128, height=128, num_inference_steps=6) for seed in range(20)]
        deadline = time.monotonic() + 300
        while GenerationJob.objects.exclude(status=Status.SUCCEEDED).exists():
            assert time.monotonic() < deadline, list(GenerationJob.objects.values_list("status", "error"))
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    # then every job ran exactly once, and both workers took jobs
    rows = list(GenerationJob.objects.filter(pk__in=[j.pk for j in jobs]).values("attempts", "worker_name", "output"))
    assert all(row["attempts"] == 1 for row in rows)
    assert len({row["output"] for row in rows}) == 20
    names = [row["worker_name"] for row in rows]
    assert len(set(names)) == 2, f"jobs per worker: { {n: names.count(n) for n in set(names)} }"
