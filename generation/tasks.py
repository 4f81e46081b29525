"""RQ entry points: take ids and delegate (generation.execution does the work)."""
from __future__ import annotations


def run_generation_job(job_id: int) -> None:
    from generation.execution import job_execute

    job_execute(job_id=job_id)
