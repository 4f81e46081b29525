"""Every write to generation jobs goes through here: views, admin, commands and RQ tasks call these."""
from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation import modelinfo
from generation.models import SEED_MAX, Experiment, GenerationJob, Mode, Scheduler, Status

logger = logging.getLogger(__name__)

QUEUE_NAME = "generation"
TASK_PATH = "generation.tasks.run_generation_job"
STEPS_MAX = 150
GUIDANCE_MAX = 30.0
SIZE_MIN, SIZE_MAX = 64, 2048
PARAMETER_FIELDS = (
    "mode", "prompt", "negative_prompt", "seed", "num_inference_steps", "guidance_scale",
    "scheduler", "width", "height", "strength",
)


def new_seed() -> int:
    return secrets.randbelow(SEED_MAX + 1)


def validate_parameters(params: dict[str, Any]) -> None:
    """The checks diffusers' check_inputs makes, as field errors a person can act on."""
    errors: dict[str, str] = {}
    mode = params.get("mode")
    if mode not in Mode.values:
        errors["mode"] = f"Mode must be one of {', '.join(Mode.values)}."
    if not (params.get("prompt") or "").strip():
        errors["prompt"] = "Write a prompt: it says what the image should show."
    elif len(params["prompt"]) > 2000:
        errors["prompt"] = f"The prompt is {len(params['prompt'])} characters; the limit is 2000 (CLIP reads the first 77 tokens)."
    seed = params.get("seed")
    if seed is not None and not (0 <= int(seed) <= SEED_MAX):
        errors["seed"] = f"Seed must be between 0 and {SEED_MAX}, or blank for a random one."
    steps = params.get("num_inference_steps")
    if steps is None or not (1 <= int(steps) <= STEPS_MAX):
        errors["num_inference_steps"] = f"Steps must be between 1 and {STEPS_MAX} (the brief uses 15, 30 and 50)."
    guidance = params.get("guidance_scale")
    if guidance is None or not (0 <= float(guidance) <= GUIDANCE_MAX):
        errors["guidance_scale"] = f"Guidance must be between 0 and {GUIDANCE_MAX:g} (7.5 is SD v1.5's usual value)."
    if params.get("scheduler") not in Scheduler.values:
        errors["scheduler"] = f"Scheduler must be one of {', '.join(Scheduler.values)}."
    for name in ("width", "height"):
        value = params.get(name)
        if value is None or not (SIZE_MIN <= int(value) <= SIZE_MAX) or int(value) % 8:
            errors[name] = f"{name.capitalize()} must be a multiple of 8 between {SIZE_MIN} and {SIZE_MAX} px (SD v1.5 is trained at 512)."
    strength = params.get("strength")
    if mode == Mode.IMG2IMG:
        if params.get("source_photo") is None:
            errors["source_photo"] = "Image to image needs a source photo: pick one of the product's photos or upload one."
        if strength is None or not (0 < float(strength) <= 1):
            errors["strength"] = "Strength must be above 0 and at most 1 (the brief compares 0.35, 0.60 and 0.85)."
        elif steps and 1 <= int(steps) <= STEPS_MAX and int(int(steps) * float(strength)) < 1:
            errors["strength"] = f"Steps x strength = {int(steps) * float(strength):.2f}: fewer than one denoising step would run. Raise one of them."
    elif mode == Mode.TEXT2IMG and strength is not None:
        errors["strength"] = "Strength applies to image to image only; leave it blank for text to image."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def job_create(
    *,
    prompt: str,
    mode: str = Mode.TEXT2IMG,
    negative_prompt: str = "",
    seed: int | None = None,
    num_inference_steps: int = 30,
    guidance_scale: float = 7.5,
    scheduler: str = Scheduler.EULER_A,
    width: int = 512,
    height: int = 512,
    strength: float | None = None,
    product=None,
    source_photo=None,
    experiment: Experiment | None = None,
    run_name: str = "",
    rerun_of: GenerationJob | None = None,
    model_id: str | None = None,
    created_by=None,
) -> GenerationJob:
    """Validate, store as queued with a concrete seed, and enqueue once the transaction commits."""
    params = dict(
        mode=mode, prompt=prompt, negative_prompt=negative_prompt or "", seed=seed,
        num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, scheduler=scheduler,
        width=width, height=height, strength=strength, source_photo=source_photo,
    )
    validate_parameters(params)
    if source_photo is not None and product is None:
        product = source_photo.product
    job = GenerationJob.objects.create(
        mode=mode,
        prompt=prompt.strip(),
        negative_prompt=(negative_prompt or "").strip(),
        seed=new_seed() if seed is None else int(seed),
        num_inference_steps=int(num_inference_steps),
        guidance_scale=float(guidance_scale),
        scheduler=scheduler,
        width=int(width),
        height=int(height),
        strength=float(strength) if strength is not None else None,
        model_id=modelinfo.requested_model_id() if model_id is None else model_id,
        product=product,
        source_photo=source_photo,
        experiment=experiment,
        run_name=run_name,
        rerun_of=rerun_of,
        created_by=created_by,
    )
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def job_rerun(*, job: GenerationJob, created_by=None) -> GenerationJob:
    """A new job with the identical parameter set, seed and model; compared pixel by pixel when it finishes."""
    return job_create(
        **{name: getattr(job, name) for name in PARAMETER_FIELDS},
        product=job.product,
        source_photo=job.source_photo,
        run_name=job.run_name,
        rerun_of=job,
        model_id=job.model_id,
        created_by=created_by,
    )


def rq_job_id(job: GenerationJob) -> str:
    """Deterministic per attempt: a re-delivery of the same attempt maps to the same RQ job."""
    return f"sdstudio-job-{job.pk}-attempt-{job.attempts + 1}"


def get_queue():
    import django_rq

    return django_rq.get_queue(QUEUE_NAME)


def job_enqueue(*, job_id: int) -> bool:
    """Put a queued job on Redis. Redis being down is not an error: the row stays queued for the reconciler."""
    from redis.exceptions import RedisError

    job = GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED).first()
    if job is None:
        return False
    rq_id = rq_job_id(job)
    try:
        get_queue().enqueue(
            TASK_PATH,
            job.pk,
            job_id=rq_id,
            job_timeout=settings.SDSTUDIO_JOB_TIMEOUT,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
    except RedisError as exc:
        logger.warning("Job %s stays queued: Redis is unreachable (%s); the reconciler will enqueue it.", job.pk, exc)
        return False
    GenerationJob.objects.filter(pk=job.pk).update(rq_job_id=rq_id, updated_at=timezone.now())
    return True


def job_claim(*, job_id: int, worker_name: str) -> GenerationJob | None:
    """queued -> running, once: a duplicate delivery finds the row no longer queued and gets None."""
    now = timezone.now()
    claimed = GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        worker_name=worker_name[:200],
        progress_step=0,
        progress_total=0,
        error="",
        updated_at=now,
    )
    if not claimed:
        return None
    return GenerationJob.objects.select_related("source_photo", "rerun_of").get(pk=job_id)


def job_claim_companions(*, job: GenerationJob, worker_name: str, limit: int) -> list[GenerationJob]:
    """Claim up to ``limit`` more queued jobs that can share one pipeline call with ``job`` (batching)."""
    if limit <= 0:
        return []
    same = dict(mode=job.mode, width=job.width, height=job.height, num_inference_steps=job.num_inference_steps,
                scheduler=job.scheduler, guidance_scale=job.guidance_scale, strength=job.strength, model_id=job.model_id)
    candidates = (
        GenerationJob.objects.filter(status=Status.QUEUED, cancel_requested=False, **same)
        .exclude(pk=job.pk).order_by("created_at", "id").values_list("pk", flat=True)[: limit * 2]
    )
    claimed = []
    for pk in candidates:
        companion = job_claim(job_id=pk, worker_name=worker_name)
        if companion is not None:
            claimed.append(companion)
            if len(claimed) == limit:
                break
    return claimed


def job_report_progress(*, job_id: int, step: int, total: int) -> bool:
    """Record step i of N and the heartbeat; returns True when a cancel was asked for."""
    now = timezone.now()
    GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        progress_step=step, progress_total=total, heartbeat_at=now, updated_at=now
    )
    return GenerationJob.objects.filter(pk=job_id, cancel_requested=True).exists()


@dataclass
class JobOutcome:
    png: bytes
    thumbnail_png: bytes
    pixels_sha256: str
    environment: dict
    load_seconds: float
    inference_seconds: float
    seconds_per_step: float
    steps_run: int
    extra_fields: dict


def output_name(job: GenerationJob) -> str:
    stem = job.run_name or f"{job.mode}"
    return f"outputs/{timezone.now():%Y/%m}/job{job.pk}-{stem}-{uuid.uuid4().hex[:12]}.png"


def job_succeed(*, job: GenerationJob, outcome: JobOutcome) -> bool:
    """Write the file first, then flip the row; if the row cannot flip, the file goes. Never one without the other."""
    name = default_storage.save(output_name(job), ContentFile(outcome.png))
    thumb_name = ""
    try:
        thumb_name = default_storage.save(output_name(job).replace("outputs/", "thumbs/"), ContentFile(outcome.thumbnail_png))
        now = timezone.now()
        with transaction.atomic():
            updated = GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
                status=Status.SUCCEEDED,
                output=name,
                thumbnail=thumb_name,
                output_sha256=outcome.pixels_sha256,
                environment=outcome.environment,
                finished_at=now,
                queue_wait_seconds=(job.started_at - job.created_at).total_seconds() if job.started_at else None,
                load_seconds=outcome.load_seconds,
                inference_seconds=outcome.inference_seconds,
                seconds_per_step=outcome.seconds_per_step,
                progress_step=outcome.steps_run,
                progress_total=outcome.steps_run,
                heartbeat_at=now,
                updated_at=now,
                **outcome.extra_fields,
            )
    except BaseException:
        _delete_files(name, thumb_name)
        raise
    if not updated:
        _delete_files(name, thumb_name)
        logger.warning("Job %s was no longer running when its output was ready; output discarded.", job.pk)
    return bool(updated)


def _delete_files(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def job_fail(*, job_id: int, error: str, retryable: bool = False) -> str:
    """running -> failed, or back to queued (and enqueued) while attempts remain for a retryable fault."""
    now = timezone.now()
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None:
        return ""
    if retryable and job.attempts < settings.SDSTUDIO_MAX_ATTEMPTS and not job.cancel_requested:
        requeued = GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
            status=Status.QUEUED, error=f"Attempt {job.attempts} failed: {error}"[:5000], worker_name="", updated_at=now
        )
        if requeued:
            transaction.on_commit(lambda: job_enqueue(job_id=job_id))
            return Status.QUEUED
    GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        status=Status.FAILED, error=error[:5000], finished_at=now, updated_at=now
    )
    return Status.FAILED


def job_mark_canceled(*, job_id: int) -> None:
    now = timezone.now()
    GenerationJob.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.CANCELED, finished_at=now, updated_at=now, error="Canceled on request."
    )


def job_cancel(*, job: GenerationJob) -> str:
    """Queued jobs stop at once; a running job stops at its next denoising step."""
    now = timezone.now()
    if GenerationJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.CANCELED, cancel_requested=True, finished_at=now, updated_at=now, error="Canceled before it started."
    ):
        return Status.CANCELED
    GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True, updated_at=now)
    job.refresh_from_db()
    return job.status


def job_retry(*, job: GenerationJob) -> bool:
    """failed -> queued (a person asked for another try)."""
    updated = GenerationJob.objects.filter(pk=job.pk, status=Status.FAILED).update(
        status=Status.QUEUED, error="", cancel_requested=False, finished_at=None, updated_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return bool(updated)


RQ_PENDING_STATES = {"queued", "scheduled", "deferred", "started"}


def jobs_reconcile(*, grace_seconds: int = 5) -> dict[str, int]:
    """Make Redis agree with the database, the source of truth.

    - a queued row whose RQ job is gone (Redis flushed or restarted, or down at
      submit time) is enqueued again;
    - a running row whose heartbeat is older than SDSTUDIO_HEARTBEAT_STALE_SECONDS
      (its worker was killed) is retried, or failed once its attempts are spent.
    The claim in job_claim makes any duplicate this creates harmless.
    """
    from redis.exceptions import RedisError

    counts = {"enqueued": 0, "retried": 0, "failed": 0, "redis_down": 0}
    now = timezone.now()
    try:
        queue = get_queue()
        for job in GenerationJob.objects.filter(
            status=Status.QUEUED, updated_at__lt=now - timezone.timedelta(seconds=grace_seconds)
        ).only("pk", "rq_job_id", "attempts"):
            rq_job = queue.fetch_job(job.rq_job_id) if job.rq_job_id else None
            if rq_job is not None and rq_job.get_status(refresh=False) in RQ_PENDING_STATES:
                continue
            if job_enqueue(job_id=job.pk):
                counts["enqueued"] += 1
    except RedisError as exc:
        logger.warning("Reconcile: Redis unreachable (%s); queued jobs wait for it.", exc)
        counts["redis_down"] = 1
    stale_before = now - timezone.timedelta(seconds=settings.SDSTUDIO_HEARTBEAT_STALE_SECONDS)
    for job in GenerationJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale_before).only("pk", "worker_name", "heartbeat_at"):
        state = job_fail(
            job_id=job.pk,
            error=f"Worker {job.worker_name or '?'} stopped answering (last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC).",
            retryable=True,
        )
        counts["retried" if state == Status.QUEUED else "failed"] += 1
    if any(counts.values()):
        logger.info("Reconciled jobs: %s", counts)
    return counts
