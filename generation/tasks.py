"""RQ entry points: take ids, re-fetch, return quietly when there is nothing to do, delegate."""
from __future__ import annotations

import logging
import os
import socket

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_generation_job(job_id: int) -> None:
    from rq.timeouts import JobTimeoutException

    from generation import pipelines, runner, services

    close_old_connections()
    try:
        job = services.job_claim(job_id=job_id, worker_name=worker_identity())
        if job is None:
            logger.info("Job %s is not queued any more (done, canceled or taken); nothing to do.", job_id)
            return
        # Batching (off by default): other queued jobs of the same shape ride along in one pipeline call.
        batch = [job] + services.job_claim_companions(job=job, worker_name=worker_identity(), limit=settings.SDSTUDIO_BATCH_MAX - 1)
        first_load = not pipelines.is_loaded()
        try:
            loaded = pipelines.get_pipelines()
            states = runner.execute_jobs(batch, loaded, load_seconds=loaded.load_seconds if first_load else 0.0)
        except JobTimeoutException:
            # The alarm may have interrupted a query: start the bookkeeping on a fresh connection.
            connection.close()
            for member in batch:
                services.job_fail(job_id=member.pk, error=f"Timed out: the job ran past its {settings.SDSTUDIO_JOB_TIMEOUT} s limit.")
            states = ["failed"] * len(batch)
        except Exception as exc:  # The rows must say what happened; RQ's own record is secondary.
            logger.exception("Job %s failed", job_id)
            connection.close()
            states = [services.job_fail(job_id=member.pk, error=f"{type(exc).__name__}: {exc}", retryable=is_retryable(exc))
                      for member in batch]
        if "failed" in states or "queued" in states:
            pipelines.release_memory()  # a failed or timed-out job must not keep GPU memory from the next one
        for member, state in zip(batch, states):
            logger.info("Job %s: %s", member.pk, state)
    finally:
        close_old_connections()


def is_retryable(exc: BaseException) -> bool:
    """Faults of the machine (memory, I/O, a lost connection) are worth another try; bad input is not."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, (MemoryError, OSError, OperationalError, InterfaceError, ConnectionError)):
        return True
    return "out of memory" in str(exc).lower()

