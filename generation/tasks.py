"""RQ entry points: take ids, re-fetch, return quietly when there is nothing to do, delegate."""
from __future__ import annotations

import logging
import os
import socket

from django.db import close_old_connections

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
        first_load = not pipelines.is_loaded()
        try:
            loaded = pipelines.get_pipelines()
            state = runner.execute_job(job, loaded, load_seconds=loaded.load_seconds if first_load else 0.0)
        except JobTimeoutException:
            services.job_fail(job_id=job_id, error=f"Timed out: the job ran past its {_timeout()} s limit.")
            state = "failed"
        except Exception as exc:  # The row must say what happened; RQ's own record is secondary.
            logger.exception("Job %s failed", job_id)
            state = services.job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}", retryable=is_retryable(exc))
        logger.info("Job %s: %s", job_id, state)
    finally:
        close_old_connections()


def _timeout() -> int:
    from django.conf import settings

    return settings.SDSTUDIO_JOB_TIMEOUT


def is_retryable(exc: BaseException) -> bool:
    """Faults of the machine (memory, I/O, a lost connection) are worth another try; bad input is not."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, (MemoryError, OSError, OperationalError, InterfaceError, ConnectionError)):
        return True
    return "out of memory" in str(exc).lower()

