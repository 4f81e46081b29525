"""Every write to generation jobs goes through here: views, admin, commands and RQ tasks call these."""
from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from generation import modelinfo, modes
from generation import parameters as P
from generation.models import Experiment, GenerationJob, Status
from sdstudio.roles import require
from sdstudio.storedfiles import store_with_row

logger = logging.getLogger(__name__)

QUEUE_NAME = "generation"
TASK_PATH = "generation.tasks.run_generation_job"


@dataclass(frozen=True)
class Transition:
    sources: frozenset
    target: str
    by: str  # who triggers it: "worker" (the worker or the reconciler) or "owner" (the job's creator, or a superuser)


# Every status change a job can make; _transition is the only code that writes a status.
TRANSITIONS: dict[str, Transition] = {
    "claim": Transition(frozenset({Status.QUEUED}), Status.RUNNING, "worker"),
    "succeed": Transition(frozenset({Status.RUNNING}), Status.SUCCEEDED, "worker"),
    "fail": Transition(frozenset({Status.RUNNING}), Status.FAILED, "worker"),
    "requeue": Transition(frozenset({Status.RUNNING}), Status.QUEUED, "worker"),  # a machine fault, attempts left
    "stop": Transition(frozenset({Status.QUEUED, Status.RUNNING}), Status.CANCELED, "worker"),  # a cancel honoured
    "cancel": Transition(frozenset({Status.QUEUED}), Status.CANCELED, "owner"),  # running jobs: cancel_requested
    "retry": Transition(frozenset({Status.FAILED}), Status.QUEUED, "owner"),
}


def _transition(job_id: int, name: str, **fields) -> bool:
    """Move a job along TRANSITIONS[name] if it is in one of its source states (compare-and-set: a duplicate changes nothing)."""
    transition = TRANSITIONS[name]
    now = fields.pop("now", None) or timezone.now()
    return bool(
        GenerationJob.objects.filter(pk=job_id, status__in=transition.sources).update(status=transition.target, updated_at=now, **fields)
    )


def jobs_transition(name: str, *, where: dict, **fields) -> int:
    """Move every job matching ``where`` that is in a source state of TRANSITIONS[name] (a set at once, e.g. a
    campaign's); returns how many moved."""
    transition = TRANSITIONS[name]
    now = fields.pop("now", None) or timezone.now()
    return GenerationJob.objects.filter(status__in=transition.sources, **where).update(status=transition.target, updated_at=now, **fields)


def new_seed() -> int:
    return secrets.randbelow(P.SEED_MAX + 1)


def validate_parameters(params: dict[str, Any], *, has_source: bool = False) -> dict[str, Any]:
    """Coerce and check a parameter set (generation.modes); returns the values or raises ValidationError."""
    values, errors = modes.coerce(params)
    if not errors:
        errors = modes.validate(values, has_source=has_source)
    if errors:
        raise ValidationError(errors)
    return values


def can_manage(*, job: GenerationJob, user) -> bool:
    """Cancel and retry belong to the merchandiser who started the job, and to superusers (None: the command line)."""
    if user is None:
        return True
    return user.has_perm("generation.change_generationjob") and (job.created_by_id == user.pk or user.is_superuser)


def _require_manage(job: GenerationJob, user, action: str) -> None:
    if not can_manage(job=job, user=user):
        raise PermissionDenied(gettext("Only the person who started job #%(pk)s, or an administrator, can %(action)s it.")
                               % {"pk": job.pk, "action": action})


@transaction.atomic
def job_create(
    *,
    product=None,
    source_photo=None,
    experiment: Experiment | None = None,
    run_name: str = "",
    rerun_of: GenerationJob | None = None,
    model_id: str | None = None,
    user=None,
    mask=None,
    kept_mask=None,
    mask_unsure: bool | None = None,
    **params: Any,
) -> GenerationJob:
    """Validate the parameters (generation.parameters), store as queued with a concrete seed, enqueue after commit.

    Scene jobs keep the product through ``mask`` (a Pillow image at the photo's size, 255 = product), by default
    the photo's own mask; the job stores its own copy (a matte, for soft edges), so a later edit of the photo's mask
    changes no job. ``kept_mask`` is another job's stored copy (a re-run, a sweep), stored again as it is.
    """
    require(user, "generation.add_generationjob", gettext("Only merchandisers (or admins) can start generation jobs."))
    values = validate_parameters(params, has_source=source_photo is not None)
    if values["controlnet_conditioning_scale"] is not None and not modelinfo.edge_guidance_available():
        raise ValidationError({"controlnet_conditioning_scale": gettext("Edge guidance needs a ControlNet: set SDSTUDIO_CONTROLNET_MODEL (e.g. "
                                                                        "lllyasviel/control_v11p_sd15_canny), or leave it blank.")})
    mode = modes.get(values["mode"])
    recorded: dict = {}
    mask_png = None
    if mode.uses_mask:
        own_mask = mask is None  # the photo's own mask: it carries the photo's unsure flag
        mask, mask_png = _job_mask(source_photo, mask, mode, values, kept=kept_mask)
        recorded, errors = mode.admission(values, mask)
        if errors:
            raise ValidationError(errors)
        recorded["mask_unsure"] = (own_mask and source_photo.mask_unsure) if mask_unsure is None else mask_unsure
    if source_photo is not None and product is None:
        product = source_photo.product
    if values["seed"] is None:
        values["seed"] = new_seed()
    job = GenerationJob(
        **values,
        **recorded,
        model_id=modelinfo.requested_model_id() if model_id is None else model_id,
        product=product,
        source_photo=source_photo if mode.uses_photo else None,
        experiment=experiment,
        run_name=run_name,
        rerun_of=rerun_of,
        created_by=user,
    )
    store_with_row(job, [(job.mask, f"{uuid.uuid4().hex}.png", mask_png or b"")])
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def _job_mask(source_photo, mask, mode, values, *, kept=None):
    """The scene job's own copy of the product mask, checked against its photo: (the binary mask, PNG bytes of the
    copy as the mode keeps it: a matte for soft edges). ``kept``: a job's copy, stored again unchanged."""
    from catalog import masks
    from catalog.services import photo_mask_image, photo_matte_image
    from sdstudio.images import open_image

    alpha = None
    if kept is not None:
        mask = kept
    elif mask is None and source_photo is not None:
        mask, alpha = photo_mask_image(source_photo), photo_matte_image(source_photo)
    if mask is None:
        raise ValidationError({"source_photo": gettext("This photo has no product mask yet: open the photo and paint the product in the mask editor, or "
                                                       "upload a cut-out with transparency.")})
    try:
        checked = masks.check(mask, (source_photo.width, source_photo.height))
    except ValidationError as exc:
        raise ValidationError({"mask": exc.messages}) from None
    if kept is None:
        kept = mode.kept_mask(open_image(source_photo.image), checked, values, alpha=alpha)
    return checked, masks.png(kept, soft=True)


def job_rerun(*, job: GenerationJob, user) -> GenerationJob:
    """A new job with the identical parameter set, seed, model and source; compared pixel by pixel when it finishes.

    ``user`` None is the command line (an operator with shell access).
    """
    require(user, "generation.rerun_generationjob", gettext("Only administrators can re-run a job for comparison."))
    if job.status != Status.SUCCEEDED:
        raise ValidationError(gettext("Job #%(pk)s is %(status)s; only a job that succeeded can be re-run for comparison.")
                              % {"pk": job.pk, "status": job.get_status_display().lower()})
    return _job_again(job, user=user, rerun_of=job)


def job_make_full(*, job: GenerationJob, user) -> GenerationJob:
    """The full image of a draft: every parameter, the seed, the model and the source the same, speed full."""
    require(user, "generation.add_generationjob", gettext("Only merchandisers (or admins) can start generation jobs."))
    if job.speed != "draft":
        raise ValidationError(gettext("Job #%(pk)s is already a full image.") % {"pk": job.pk})
    return _job_again(job, user=user, speed="full", experiment=job.experiment)


def _job_again(job: GenerationJob, *, user, speed: str | None = None, **links) -> GenerationJob:
    """A new job with ``job``'s identical parameters, seed, model, source and own mask (``speed`` changed if given)."""
    parameters = {name: getattr(job, name) for name in P.IDENTITY}
    if speed is not None:
        parameters["speed"] = speed
    return job_create(**parameters, kept_mask=job_mask_image(job), mask_unsure=job.mask_unsure, product=job.product, source_photo=job.source_photo,
                      run_name=job.run_name, model_id=job.model_id, user=user, **links)


def job_freeze_mask(job: GenerationJob) -> None:
    """A campaign's scene job gets its own mask when it first runs (its photo's, as job_create would have frozen
    it), with what the mode records about it; ValidationError (the job fails with it) for a photo that cannot."""
    mode = modes.get(job.mode)
    values = job.parameter_values()
    if job.source_photo is None:
        raise ValidationError(gettext("The product's photo is gone: a scene needs it."))
    mask, mask_png = _job_mask(job.source_photo, None, mode, values)
    recorded, errors = mode.admission(values, mask)
    if errors:
        raise ValidationError(" ".join(errors.values()))
    recorded["mask_unsure"] = job.source_photo.mask_unsure
    for name, value in recorded.items():
        setattr(job, name, value)
    store_with_row(job, [(job.mask, f"{uuid.uuid4().hex}.png", mask_png)], update_fields=["mask", *recorded, "updated_at"])


def job_mask_image(job: GenerationJob):
    """The scene job's own mask (what a re-run or a sweep from it must keep), or None for the other modes."""
    from sdstudio.images import open_image

    if not job.mode_info.uses_mask or not job.mask:
        return None
    return open_image(job.mask)


def job_publish(*, job_id: int) -> str:
    """Give an approved output its public link token (once: the link stays the same if it is approved again)."""
    token = GenerationJob.objects.filter(pk=job_id).values_list("public_token", flat=True).first()
    if token:
        return token
    token = secrets.token_urlsafe(32)
    GenerationJob.objects.filter(pk=job_id, public_token__isnull=True).update(public_token=token, updated_at=timezone.now())
    return GenerationJob.objects.filter(pk=job_id).values_list("public_token", flat=True).get()


def rq_job_id(job: GenerationJob) -> str:
    """Deterministic per attempt: a re-delivery of the same attempt maps to the same RQ job."""
    return f"sdstudio-job-{job.pk}-attempt-{job.attempts + 1}"


MODELS_KEY = "sdstudio:queue-models"  # Redis hash: queue name -> the model id its workers serve


def queue_name(model_id: str | None) -> str:
    """The queue of a model: "generation" for the default (embedded) model, one queue per other model.

    Workers of a model listen on its queue only, so a job never reaches a worker that serves another model.
    """
    import hashlib
    import re

    model_id = (model_id or "").strip()
    if not model_id:
        return QUEUE_NAME
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[:48]
    return f"{QUEUE_NAME}--{slug}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}"


CAMPAIGN_SUFFIX = "--campaigns"  # each model's campaign queue: its workers take it only when people's queue is empty


def campaign_queue_name(model_id: str | None) -> str:
    return queue_name(model_id) + CAMPAIGN_SUFFIX


def get_queue(model_id: str | None = None, *, campaign: bool = False):
    """The RQ queue for a model's jobs, people's or (``campaign``) campaigns' (JSON payloads, like every SD Studio queue)."""
    import django_rq
    from rq import Queue
    from rq.serializers import JSONSerializer

    name = campaign_queue_name(model_id) if campaign else queue_name(model_id)
    if name == QUEUE_NAME:
        return django_rq.get_queue(QUEUE_NAME)
    # Made on the fly (django-rq only knows the queues of its settings), on the same Redis.
    return Queue(name, connection=django_rq.get_connection(QUEUE_NAME), serializer=JSONSerializer,
                 default_timeout=settings.SDSTUDIO_JOB_TIMEOUT)


def served_models() -> dict[str, int]:
    """Model id -> live workers serving it, from the workers registered in Redis ("" = the default model)."""
    from rq import Worker

    connection = get_queue().connection
    names = {name.decode(): model.decode() for name, model in connection.hgetall(MODELS_KEY).items()}
    served: dict[str, int] = {}
    for worker in Worker.all(connection=connection):
        for name in worker.queue_names():
            if name == QUEUE_NAME or name in names:
                model = names.get(name, "")
                served[model] = served.get(model, 0) + 1
    return served


def known_models() -> set[str]:
    """The model ids a job may name: the configured one, the embedded ones, those in SDSTUDIO_MODELS, and every model
    a worker has served on this Redis ("" = the default). Another string would wait forever and make a queue of its own."""
    from redis.exceptions import RedisError

    from generation import modelinfo

    known = {"", modelinfo.requested_model_id(), *(name for name in modelinfo.EMBEDDED_CHOICES if name),
             *settings.SDSTUDIO_MODELS}
    try:
        known |= {model.decode() for model in get_queue().connection.hvals(MODELS_KEY)}
    except RedisError:  # Redis down: the configured models only (the job would wait for Redis anyway)
        pass
    return known


LOADING_KEY = "sdstudio:worker-loading"  # + ":<queue>": hash, worker -> what it does while starting (JSON)


def worker_loading_set(connection, *, queue: str, worker: str, state: dict, ttl: int) -> None:
    """Say what a worker that is not taking jobs yet is doing (downloading, loading, warming up), for ``ttl`` s."""
    key = f"{LOADING_KEY}:{queue}"
    with connection.pipeline() as pipe:
        pipe.hset(key, worker, json.dumps({**state, "expires": time.time() + ttl}))
        pipe.expire(key, ttl)  # the whole hash goes when no worker refreshes it
        pipe.execute()


def worker_loading_clear(connection, *, queue: str, worker: str) -> None:
    connection.hdel(f"{LOADING_KEY}:{queue}", worker)


def _starting_workers(connection, queue: str) -> list[dict]:
    """The live entries of a queue's starting workers (one small hash, no key scan; a dead worker's entry expires)."""
    states = [json.loads(value) for value in connection.hvals(f"{LOADING_KEY}:{queue}")]
    return [{k: v for k, v in state.items() if k != "expires"} for state in states if state.get("expires", 0) > time.time()]


def workers_loading(model_id: str | None = None) -> list[dict]:
    """The starting workers of a model's queue and their states (an empty list when Redis cannot be reached)."""
    from redis.exceptions import RedisError

    try:
        return _starting_workers(get_queue(model_id).connection, queue_name(model_id))
    except RedisError:
        return []


def starting_models() -> dict[str, int]:
    """Model id -> workers still starting for it (downloading, loading, warming up), from the registry of queues."""
    connection = get_queue().connection
    starting: dict[str, int] = {}
    for name, model in connection.hgetall(MODELS_KEY).items():
        count = len(_starting_workers(connection, name.decode()))
        if count:
            starting[model.decode()] = starting.get(model.decode(), 0) + count
    return starting


def job_enqueue(*, job_id: int) -> bool:
    """Put a queued job on Redis. Redis being down is not an error: the row stays queued for the reconciler.

    Neither REDIS_URL nor a running `make run` names SD Studio's Redis: nothing is sent to whatever Redis listens
    on the default port (it may be someone else's); the row stays queued as when Redis is down.
    """
    from redis.exceptions import RedisError

    job = GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED).first()
    if job is None or not settings.REDIS_URL_KNOWN:
        return False
    rq_id = rq_job_id(job)
    try:
        get_queue(job.model_id, campaign=job.campaign_id is not None).enqueue(
            TASK_PATH,
            job.pk,
            job_id=rq_id,
            job_timeout=settings.SDSTUDIO_JOB_TIMEOUT,
            result_ttl=0,  # the database keeps the outcome; storing RQ results only costs the worker time
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
    claimed = _transition(
        job_id, "claim", now=now,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        worker_name=worker_name[:200],
        progress_step=0,
        progress_total=0,
        error="",
    )
    if not claimed:
        return None
    # No joins: most jobs are text2img (no photo, no original); the modes that need the photo or the original load
    # it on use, the original on the post-processing thread. A join here costs every job ~0.5 ms between two
    # pipeline calls.
    return GenerationJob.objects.get(pk=job_id)


def job_claim_companions(*, job: GenerationJob, worker_name: str, limit: int) -> list[GenerationJob]:
    """Claim up to ``limit`` more queued jobs that can share one pipeline call with ``job`` (batching)."""
    if limit <= 0:
        return []
    # only jobs of the same campaign (or none): people's jobs never wait on a campaign's, nor campaigns on each other
    same = {name: getattr(job, name) for name in (*P.BATCH_KEYS, "model_id", "campaign_id")}
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
    control_png: bytes | None = None  # edge guidance: the Canny map the ControlNet saw


def output_name(job: GenerationJob) -> str:
    stem = job.run_name or f"{job.mode}"
    return f"outputs/{timezone.now():%Y/%m}/job{job.pk}-{stem}-{uuid.uuid4().hex[:12]}.png"


def job_succeed(*, job: GenerationJob, outcome: JobOutcome) -> bool:
    """Write the file first, then flip the row; if the row cannot flip, the file goes. Never one without the other."""
    name = default_storage.save(output_name(job), ContentFile(outcome.png))
    thumb_name = control_name = ""
    try:
        thumb_name = default_storage.save(output_name(job).replace("outputs/", "thumbs/"), ContentFile(outcome.thumbnail_png))
        if outcome.control_png:
            control_name = default_storage.save(output_name(job).replace("outputs/", "controls/"), ContentFile(outcome.control_png))
        now = timezone.now()
        with transaction.atomic():
            updated = _transition(
                job.pk, "succeed", now=now,
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
                control_image=control_name,
                **outcome.extra_fields,
            )
    except BaseException:
        _delete_files(name, thumb_name, control_name)
        raise
    if not updated:
        _delete_files(name, thumb_name, control_name)
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
        requeued = _transition(job_id, "requeue", now=now, error=(gettext("Attempt %(attempts)s failed: %(error)s")
                                                                  % {"attempts": job.attempts, "error": error})[:5000],
                           worker_name="")
        if requeued:
            transaction.on_commit(lambda: job_enqueue(job_id=job_id))
            return Status.QUEUED
    _transition(job_id, "fail", now=now, error=error[:5000], finished_at=now)
    return Status.FAILED


def job_mark_canceled(*, job_id: int) -> None:
    """The worker honoured a cancel."""
    now = timezone.now()
    _transition(job_id, "stop", now=now, finished_at=now, error=gettext("Canceled on request."))


def job_cancel(*, job: GenerationJob, user) -> str:
    """Queued jobs stop at once; a running job stops at its next denoising step. Returns the job's status."""
    _require_manage(job, user, gettext("cancel"))
    now = timezone.now()
    if _transition(job.pk, "cancel", now=now, cancel_requested=True, finished_at=now, error=gettext("Canceled before it started.")):
        return Status.CANCELED
    GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True, updated_at=now)
    job.refresh_from_db()
    return job.status


def job_retry(*, job: GenerationJob, user) -> bool:
    """failed -> queued (a person asked for another try); False when the job had not failed."""
    _require_manage(job, user, gettext("retry"))
    updated = _transition(job.pk, "retry", error="", cancel_requested=False, finished_at=None)
    if updated:
        transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return updated


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
        queues: dict = {}
        for job in GenerationJob.objects.filter(
            status=Status.QUEUED, updated_at__lt=now - timezone.timedelta(seconds=grace_seconds)
        ).exclude(campaign__isnull=False, rq_job_id="").only("pk", "rq_job_id", "attempts", "model_id", "campaign_id"):
            # (a campaign's jobs not fed yet wait in the database: generation.campaigns feeds them in turn)
            campaign = job.campaign_id is not None
            queue = queues.setdefault((job.model_id, campaign), get_queue(job.model_id, campaign=campaign))
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
            error=gettext("Worker %(value)s stopped answering (last heartbeat %(heartbeat_at)s UTC).")
                  % {"value": job.worker_name or '?', "heartbeat_at": format(job.heartbeat_at, '%Y-%m-%d %H:%M:%S')},
            retryable=True,
        )
        counts["retried" if state == Status.QUEUED else "failed"] += 1
    if any(counts.values()):
        logger.info("Reconciled jobs: %s", counts)
    return counts
