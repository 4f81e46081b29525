"""Job orchestration on the worker: claim -> spec -> run -> finish -> outcome, in one place.

The RQ task (``tasks.run_generation_job``) only hands the id over. The pure
runner (``generation.inference.runner``) makes the pixels; everything that
touches rows, files and metrics lives here and in the services.
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from typing import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from generation import fidelity, modelinfo, modes, pngmeta, services
from generation.models import GenerationJob, Status
from sdstudio.images import open_image, pixels_sha256, thumbnail_png

logger = logging.getLogger(__name__)


class PostProcessor:
    """A thread that encodes, measures and stores finished images while the worker runs the next job.

    Its queue is bounded: when it is full the worker waits before starting
    another job, so memory cannot grow. A failure fails that job with its
    reason (retried when the fault is the machine's). A job handed over is
    still ``running`` until its file is written, so a SIGKILL here leaves a
    running row whose heartbeat goes stale: the reconciler retries it, and no
    job is ever ``succeeded`` without its file.
    """

    def __init__(self, maxsize: int, jobs_waiting: Callable[[], bool] | None = None):
        self.queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self.jobs_waiting = jobs_waiting
        self.thread = threading.Thread(target=self._loop, name="sdstudio-postprocess", daemon=True)
        self.thread.start()

    def submit(self, job_id: int, work: Callable[[], str]) -> None:
        self.queue.put((job_id, work, pipeline_calls.count))

    def close(self) -> None:
        """Finish everything handed over, then stop the thread."""
        self.queue.put(None)
        self.thread.join()

    def _loop(self) -> None:
        lower_priority(settings.SDSTUDIO_POSTPROCESS_NICE)
        while True:
            item = self.queue.get()
            if item is None:
                connections.close_all()
                return
            job_id, work, calls_at_submit = item
            # Let the next job's pipeline call start first (claim, decode, first step): the work then overlaps
            # denoising instead of lengthening the gap between two calls. With no job waiting, start at once.
            if self._next_job_coming():
                pipeline_calls.wait_for_more_than(calls_at_submit, timeout=POSTPROCESS_HOLD_SECONDS)
            try:
                logger.info("Job %s: %s", job_id, work())
            except Exception as exc:
                logger.exception("Post-processing of job %s failed", job_id)
                connections.close_all()
                state = services.job_fail(job_id=job_id, error=f"Saving the output failed: {type(exc).__name__}: {exc}",
                                          retryable=is_retryable(exc))
                logger.info("Job %s: %s", job_id, state)
            finally:
                close_old_connections()

    def _next_job_coming(self) -> bool:
        if self.jobs_waiting is None:
            return True
        try:
            return self.jobs_waiting()
        except Exception:  # Redis away: the hold is only an optimisation
            return False


def lower_priority(nice: int) -> None:
    """Give the calling thread a lower CPU priority (Linux: per thread), so it takes cores the pipeline leaves idle."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as exc:
        logger.info("Could not lower the post-processing thread's priority: %s", exc)


class PipelineCalls:
    """Counts pipeline calls on this worker, so the post-processing thread can wait for the next one to begin."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def started(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for_more_than(self, count: int, *, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.count > count, timeout=timeout)


pipeline_calls = PipelineCalls()
# The job's environment key for the caption the embedded model was given in place of the prompt (generation.reading).
READ_AS = "prompt read as"
POSTPROCESS_HOLD_SECONDS = 0.05  # the gap between two calls is ~10 ms; alone in the queue, start soon
_postprocessor: PostProcessor | None = None


def start_postprocessor(maxsize: int, jobs_waiting: Callable[[], bool] | None = None) -> PostProcessor | None:
    """Called by the worker at start-up; without it (commands, --inline) outputs are stored before returning.

    ``jobs_waiting()`` says whether the worker's queues hold another job (the thread then lets it start first).
    """
    global _postprocessor
    _postprocessor = PostProcessor(maxsize, jobs_waiting) if maxsize > 0 else None
    return _postprocessor


def stop_postprocessor() -> None:
    global _postprocessor
    if _postprocessor is not None:
        _postprocessor.close()
        _postprocessor = None


class ProgressReporter:
    """Writes progress (and reads cancel flags) from a thread, so a database write never holds up a denoising step.

    The step callback only records the latest step; the thread writes it at
    most every ``interval`` seconds and collects the jobs whose cancel was
    asked for; the callback raises on the next step. The last step is written
    by the job's end state, not here.
    """

    def __init__(self, job_ids: list[int], interval: float):
        self.job_ids, self.interval = job_ids, interval
        self.latest: tuple[int, int] | None = None
        self.canceled: set[int] = set()
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="sdstudio-progress", daemon=True)
        self.thread.start()

    def on_step(self, step: int, total: int) -> None:
        from generation.inference.runner import JobCanceled

        self.latest = (step, total)
        self.wake.set()
        if self.job_ids and self.canceled >= set(self.job_ids):
            raise JobCanceled()

    def close(self) -> None:
        """Stop at once (the job's end state records its last step): closing never waits for an interval."""
        self.stop.set()
        self.wake.set()
        self.thread.join()

    def _loop(self) -> None:
        written = None
        try:
            while not self.stop.is_set():
                self.wake.wait()
                self.wake.clear()
                latest = self.latest
                if self.stop.is_set():
                    return
                if latest is not None and latest != written:
                    for job_id in self.job_ids:
                        if services.job_report_progress(job_id=job_id, step=latest[0], total=latest[1]):
                            self.canceled.add(job_id)
                    written = latest
                self.stop.wait(self.interval)  # throttle: at most one write per interval
        finally:
            connections.close_all()  # this thread's own connection ends with it, however long connections may live


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
        if job.campaign_id is not None:
            from generation import campaigns

            if not campaigns.claimed(job):  # its campaign was paused or canceled meanwhile: given back
                return []
            campaigns.feed(job.campaign_id)  # the campaign's next job goes to the back of the queue: campaigns take turns
        # Batching (off by default): other queued jobs of the same shape ride along in one pipeline call.
        batch = [job] + services.job_claim_companions(job=job, worker_name=worker_identity(), limit=settings.SDSTUDIO_BATCH_MAX - 1)
        first_load = not pipelines.is_loaded()
        try:
            loaded = pipelines.get_pipelines(modelinfo.inference_config())
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


def spec_for(job: GenerationJob):
    """The runner's view of a job row: its parameters, and the source photo decoded for the modes that use one."""
    from generation.inference.runner import JobSpec

    mode = modes.get(job.mode)
    source = open_image(job.source_photo.image) if mode.uses_photo else None
    mask = open_image(job.mask) if mode.uses_mask else None
    return JobSpec(**job.parameter_values(), source_image=source, mask_image=mask)


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
    for job in list(runnable):  # a campaign's scene job freezes its mask when it first runs
        if modes.get(job.mode).uses_mask and not job.mask:
            try:
                services.job_freeze_mask(job)
            except ValidationError as exc:
                services.job_fail(job_id=job.pk, error=" ".join(exc.messages))
                states[job.pk] = Status.FAILED
                runnable.remove(job)
    if runnable:
        specs = [spec_for(job) for job in runnable]
        progress = ProgressReporter([job.pk for job in runnable], settings.SDSTUDIO_PROGRESS_INTERVAL)
        started = timezone.now()
        pipeline_calls.started()
        try:
            results = runner.run_batch(specs, loaded, on_step=progress.on_step)
        except runner.JobCanceled:
            results = []
        finally:
            finished = timezone.now()
            progress.close()
        canceled = progress.canceled if results else {job.pk for job in runnable}
        environment = loaded.environment(modes.get(runnable[0].mode), edge_guidance=runnable[0].controlnet_conditioning_scale is not None)
        if len(runnable) > 1:
            environment["batch_size"] = len(runnable)
        for job, spec, result in zip(runnable, specs, results or [None] * len(runnable)):
            if job.pk in canceled or result is None:
                services.job_mark_canceled(job_id=job.pk)
                states[job.pk] = Status.CANCELED
                continue
            timings = {"pipeline_started_at": started, "pipeline_finished_at": finished}

            def work(job=job, spec=spec, result=result, timings=timings) -> str:
                return finish_job(job, spec, result, environment, load_seconds=load_seconds, timings=timings)

            if _postprocessor is not None:
                _postprocessor.submit(job.pk, work)  # the next job starts while this one is stored
                states[job.pk] = "post-processing"
            else:
                states[job.pk] = work()
    return [states[job.pk] for job in jobs]



def sign_output(job: GenerationJob, png: bytes, params: dict, environment: dict) -> tuple[bytes, str]:
    """The PNG with its Content Credentials, and who signed it ("development", "configured"; "" = unsigned).

    Signed after encoding and never re-encoded after: a signing failure raises (the job fails with its reason).
    """
    from sdstudio import credentials

    keys = credentials.signing_keys()
    if keys is None:
        return png, ""
    mode = modes.get(job.mode)
    source = None
    if mode.uses_photo and job.source_photo_id:
        with job.source_photo.image.open("rb") as handle:
            source = credentials.Ingredient(f"product photo #{job.source_photo_id}", handle.read(), mode.ingredient_relationship)
    rerun_of = {"job": job.rerun_of_id, "pixels_sha256": job.rerun_of.output_sha256} if job.rerun_of_id else None
    manifest = credentials.manifest_for(actions=mode.actions, params=params, model=environment.get("model", ""),
                                        title=f"sdstudio-job{job.pk}.png", rerun_of=rerun_of)
    return credentials.sign_png(png, manifest, source=source, keys=keys), "development" if keys.development else "configured"


def finish_job(job: GenerationJob, spec, result, environment: dict, *, load_seconds: float, timings: dict | None = None) -> str:
    """Measure, encode with provenance and store one output; the row turns succeeded with its file or not at all."""
    extra: dict = modes.get(job.mode).measure(result.image, result.prepared)
    if job.rerun_of_id and job.rerun_of.output:
        comparison = fidelity.compare_pixels(open_image(job.rerun_of.output), result.image)
        extra["rerun_result"] = "identical" if comparison.identical else "drifted"
        extra["rerun_max_pixel_diff"] = comparison.max_diff
        extra["rerun_psnr"] = comparison.psnr
    if result.safety is not None:
        extra["nsfw_flagged"], extra["nsfw_score"] = result.safety.flagged, result.safety.score
    if result.model_prompt and result.model_prompt != spec.prompt:  # the embedded model read it into its captions
        environment = {**environment, READ_AS: result.model_prompt}
    params = job.parameters()
    png = pngmeta.encode_png(result.image, params, extra={"job": job.pk, "environment": environment})
    png, extra["content_credentials"] = sign_output(job, png, params, environment)
    outcome = services.JobOutcome(
        png=png,
        thumbnail_png=thumbnail_png(result.image),
        pixels_sha256=pixels_sha256(result.image),
        environment=environment,
        load_seconds=load_seconds,
        inference_seconds=result.inference_seconds,
        seconds_per_step=result.seconds_per_step,
        steps_run=result.steps_run,
        extra_fields={**extra, **(timings or {})},
        control_png=pngmeta.encode_plain_png(result.control_image) if result.control_image is not None else None,
    )
    return Status.SUCCEEDED if services.job_succeed(job=job, outcome=outcome) else "discarded"
