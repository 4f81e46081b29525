"""Follow jobs from a terminal: one progress bar per job, read from the database (no torch here)."""
from __future__ import annotations

import time

from tqdm import tqdm

from generation.models import GenerationJob, Status


def wait_for_jobs(job_ids: list[int], *, stream, timeout: float | None = None, poll: float = 0.5) -> list[GenerationJob]:
    """Block until every job has finished, drawing bars on ``stream``; returns the finished rows."""
    bars: dict[int, tqdm] = {}
    started = time.monotonic()
    try:
        while True:
            jobs = {job.pk: job for job in GenerationJob.objects.filter(pk__in=job_ids)}
            for position, pk in enumerate(job_ids):
                job = jobs[pk]
                bar = bars.get(pk)
                if bar is None:
                    bar = bars[pk] = tqdm(
                        total=job.progress_total or job.num_inference_steps, desc=f"job {pk} {job.run_name}".strip(),
                        position=position, file=stream, leave=True, unit="step", dynamic_ncols=True,
                    )
                if job.progress_total and bar.total != job.progress_total:
                    bar.total = job.progress_total
                bar.n = job.progress_step if job.status != Status.SUCCEEDED else bar.total
                bar.set_postfix_str(job.status, refresh=False)
                bar.refresh()
            if all(job.is_finished for job in jobs.values()):
                return [jobs[pk] for pk in job_ids]
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"Jobs still unfinished after {timeout:.0f} s: is a worker running? (`python manage.py rqworker generation`)")
            time.sleep(poll)
    finally:
        for bar in bars.values():
            bar.close()
