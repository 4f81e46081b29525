"""Job orchestration on the worker: claim -> spec -> run -> finish -> outcome, in one place.

The RQ task (``tasks.run_generation_job``) only hands the id over. The pure
runner (``generation.inference.runner``) makes the pixels; everything that
touches rows, files and metrics lives here and in the services.
"""
from __future__ import annotations

import logging
import os
import socket
import time

from django.conf import settings
from django.db import close_old_connections, connection
from PIL import Image

from generation import fidelity, pngmeta, services
from generation import parameters as P
from generation.models import GenerationJob, Status
from sdstudio.images import thumbnail_png

logger = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_execute(*, job_id: int) -> list[str]:
    """Claim a queued job (and, with batching on, companions of the same shape), run it, record how it ended."""
    from rq.timeouts import JobTimeoutException

    from generation.inference import pipelines

    close_old_connections()
    try:
        job = services.job_claim(job_id=job_id, worker_name=worker_identity())
        if job is None:
            logger.info("Job %s is not queued any more (done, canceled or taken); nothing to do.", job_id)
            return []
        # Batching (off by default): other queued jobs of the same shape ride along in one pipeline call.
        batch = [job] + services.job_claim_companions(job=job, worker_name=worker_identity(), limit=settings.SDSTUDIO_BATCH_MAX - 1)
        first_load = not pipelines.is_loaded()
        try:
            loaded = pipelines.get_pipelines()
            states = execute_jobs(batch, loaded, load_seconds=loaded.load_seconds if first_load else 0.0)
        except JobTimeoutException:
            # The alarm may have interrupted a query: start the bookkeeping on a fresh connection.
            connection.close()
            for member in batch:
                services.job_fail(job_id=member.pk, error=f"Timed out: the job ran past its {settings.SDSTUDIO_JOB_TIMEOUT} s limit.")
            states = [Status.FAILED] * len(batch)
        except Exception as exc:  # The rows must say what happened; RQ's own record is secondary.
            logger.exception("Job %s failed", job_id)
            connection.close()
            states = [services.job_fail(job_id=member.pk, error=f"{type(exc).__name__}: {exc}", retryable=is_retryable(exc))
                      for member in batch]
        if Status.FAILED in states or Status.QUEUED in states:
            pipelines.release_memory()  # a failed or timed-out job must not keep GPU memory from the next one
        for member, state in zip(batch, states):
            logger.info("Job %s: %s", member.pk, state)
        return states
    finally:
        close_old_connections()


def is_retryable(exc: BaseException) -> bool:
    """Faults of the machine (memory, I/O, a lost connection) are worth another try; bad input is not."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, (MemoryError, OSError, OperationalError, InterfaceError, ConnectionError)):
        return True
    return "out of memory" in str(exc).lower()


def _open_image(fieldfile) -> Image.Image:
    with fieldfile.open("rb") as handle:
        image = Image.open(handle)
        image.load()
    return image


def spec_for(job: GenerationJob):
    """The runner's view of a job row: its parameters, and the source photo decoded for the modes that use one."""
    from generation.inference.runner import JobSpec

    source = _open_image(job.source_photo.image) if job.mode in P.SOURCE_MODES else None
    return JobSpec(**job.parameter_values(), source_image=source)


def execute_jobs(jobs: list[GenerationJob], loaded, *, load_seconds: float = 0.0) -> list[str]:
    """Run claimed (running) jobs, as one batch when there are several, to their end states.

    Progress is written back at most every SDSTUDIO_PROGRESS_INTERVAL seconds
    (and at the last step); each write also reads the cancel flags. A job
    canceled inside a batch is dropped at the end; the batch stops only when
    every one of its jobs was canceled.
    """
    from generation.inference import runner

    states: dict[int, str] = {}
    runnable = []
    for job in jobs:
        if (job.model_id or "") != loaded.model_id:
            services.job_fail(
                job_id=job.pk,
                error=f"This worker serves {loaded.model_label!r} but the job asks for {job.model_id or 'the embedded model'!r}. "
                "Start a worker with the same SDSTUDIO_MODEL.",
            )
            states[job.pk] = Status.FAILED
        else:
            runnable.append(job)
    interval = settings.SDSTUDIO_PROGRESS_INTERVAL
    last_report = 0.0
    canceled: set[int] = set()

    def on_step(step: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if step < total and now - last_report < interval:
            return
        last_report = now
        for job in runnable:
            if services.job_report_progress(job_id=job.pk, step=step, total=total):
                canceled.add(job.pk)
        if len(canceled) == len(runnable):
            raise runner.JobCanceled()

    if runnable:
        specs = [spec_for(job) for job in runnable]
        try:
            results = runner.run_batch(specs, loaded, on_step=on_step)
        except runner.JobCanceled:
            results = []
            canceled.update(job.pk for job in runnable)
        environment = loaded.fingerprint()
        if len(runnable) > 1:
            environment["batch_size"] = len(runnable)
        for job, spec, result in zip(runnable, specs, results or [None] * len(runnable)):
            if job.pk in canceled or result is None:
                services.job_mark_canceled(job_id=job.pk)
                states[job.pk] = Status.CANCELED
            else:
                states[job.pk] = finish_job(job, spec, result, environment, load_seconds=load_seconds)
    return [states[job.pk] for job in jobs]


def finish_job(job: GenerationJob, spec, result, environment: dict, *, load_seconds: float) -> str:
    """Measure, encode with provenance and store one output; the row turns succeeded with its file or not at all."""
    from generation.inference.runner import prepare_source

    extra: dict = {}
    if spec.source_image is not None:
        extra["fidelity_ssim"], extra["fidelity_phash_distance"] = fidelity.fidelity(
            prepare_source(spec.source_image, job.width, job.height), result.image
        )
    if job.rerun_of_id and job.rerun_of.output:
        comparison = fidelity.compare_pixels(_open_image(job.rerun_of.output), result.image)
        extra["rerun_result"] = "identical" if comparison.identical else "drifted"
        extra["rerun_max_pixel_diff"] = comparison.max_diff
        extra["rerun_psnr"] = comparison.psnr
    outcome = services.JobOutcome(
        png=pngmeta.encode_png(result.image, job.parameters(), extra={"job": job.pk, "environment": environment}),
        thumbnail_png=thumbnail_png(result.image),
        pixels_sha256=pngmeta.pixels_sha256(result.image),
        environment=environment,
        load_seconds=load_seconds,
        inference_seconds=result.inference_seconds,
        seconds_per_step=result.seconds_per_step,
        steps_run=result.steps_run,
        extra_fields=extra,
    )
    return Status.SUCCEEDED if services.job_succeed(job=job, outcome=outcome) else "discarded"
