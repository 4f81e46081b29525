"""Catalog campaigns: one recipe for many products and channel formats, run behind people's own jobs, fairly.

A campaign is a recipe (mode, prompt template with product fields, negative prompt, parameters, candidates per
item), a product selection and channel formats (named sizes, each with the product's scale). Its jobs are created
in one transaction (bulk insert). They wait in the database, not in Redis: each model has an interactive queue
(people's jobs) and a campaign queue, and workers always take the interactive one first. ``feed`` keeps at most
``SDSTUDIO_CAMPAIGN_WINDOW`` jobs of each campaign on the campaign queue; a worker that claims one feeds the next
of the same campaign, which goes to the back of the queue, so campaigns take turns (one of 600 does not hold
back one of 10). Paused: nothing more is fed and what waited in Redis is taken back; canceled: every job not
finished is canceled. A worker killed mid-campaign loses nothing: the reconciler requeues its job and feeds every
active campaign again.
"""
from __future__ import annotations

import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from generation import modes
from generation import parameters as P
from generation import services
from generation.models import Campaign, CampaignStatus, GenerationJob, Status
from sdstudio.roles import require

# Channel formats people ask for first; each a multiple of 8 within SD v1.5's range, the product's scale per format.
FORMATS: dict[str, dict] = {
    "square": {"name": "square", "label": gettext_noop("Square 1:1"), "width": 512, "height": 512, "product_scale": 0.6},
    "portrait": {"name": "portrait", "label": gettext_noop("Portrait 4:5"), "width": 512, "height": 640, "product_scale": 0.55},
    "landscape": {"name": "landscape", "label": gettext_noop("Landscape 16:9"), "width": 768, "height": 432, "product_scale": 0.7},
}
FIELDS = ("name", "vendor", "type", "category", "sku")  # what a prompt or alt template may name
MAX_SEEDS = 8
MAX_JOBS = 20_000


def product_fields(product, **extra) -> dict[str, str]:
    return {"name": product.name, "vendor": product.vendor, "type": product.product_type, "category": product.category,
            "sku": product.sku, **extra}


def check_template(template: str, label: str, allowed=FIELDS) -> None:
    """ValidationError naming a field the template uses that does not exist (or a brace left open)."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValidationError(gettext("The %(label)s has a brace that is not closed (%(exc)s); write {name} for a product field.")
                              % {"label": label, "exc": exc}) from None
    unknown = sorted({name for name in names if name not in allowed})
    if unknown:
        raise ValidationError(gettext("The %(label)s uses %(join)s; it may use %(join2)s.")
                              % {"label": label, "join": ', '.join('{' + n + '}' for n in unknown), "join2": ', '.join('{' + n + '}' for n in allowed)})


def render(template: str, fields: dict[str, str]) -> str:
    return " ".join(template.format_map(fields).split())


def normalise_formats(formats) -> list[dict]:
    """Format names (FORMATS) or dicts {name, width, height, product_scale?, label?}: checked, in the given order."""
    if not formats:
        raise ValidationError({"formats": gettext("Choose at least one format (%(join)s, or your own width and height).")
                                          % {"join": ', '.join(FORMATS)}})
    result, seen = [], set()
    for item in formats:
        if isinstance(item, str):
            if item not in FORMATS:
                raise ValidationError({"formats": gettext("Unknown format “%(item)s”: the named ones are %(join)s.")
                                                  % {"item": item, "join": ', '.join(FORMATS)}})
            item = FORMATS[item]
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise ValidationError({"formats": gettext("Each format needs a name, a width and a height.")})
        name = str(item["name"]).strip()[:32]
        if name in seen:
            raise ValidationError({"formats": gettext("The format “%(name)s” is listed twice.") % {"name": name}})
        seen.add(name)
        fmt = {"name": name, "label": str(item.get("label") or name)[:64]}
        for key in ("width", "height"):
            try:
                fmt[key] = int(item[key])
            except (KeyError, TypeError, ValueError):
                raise ValidationError({"formats": gettext("The format “%(name)s” needs a whole %(key)s in pixels.")
                                                  % {"name": name, "key": key}}) from None
            message = P.BY_NAME[key].check(fmt[key])
            if message:
                raise ValidationError({"formats": f"{name}: {message}"})
        scale = item.get("product_scale", 0.6)
        try:
            fmt["product_scale"] = float(scale)
        except (TypeError, ValueError):
            raise ValidationError({"formats": gettext("%(name)s: the product scale must be a number.")
                                              % {"name": name}}) from None
        message = P.BY_NAME["product_scale"].check(fmt["product_scale"])
        if message:
            raise ValidationError({"formats": f"{name}: {message}"})
        result.append(fmt)
    return result


def select_products(selection: dict):
    """The products a selection names: SKUs, or filters on the catalog and the shop import (category, product
    type, vendor, a tag), combined."""
    from catalog.models import Product

    if not isinstance(selection, dict):
        raise ValidationError({"selection": gettext("The selection is a set of filters (category, product_type, vendor, tag) or SKUs.")})
    products = Product.objects.all()
    skus = selection.get("skus")
    if skus:
        if isinstance(skus, str):
            skus = skus.replace(",", " ").split()
        products = products.filter(sku__in=[str(s).strip() for s in skus])
    for key, lookup in (("category", "category__iexact"), ("product_type", "product_type__iexact"),
                        ("vendor", "vendor__iexact"), ("tag", "tags__icontains")):
        if selection.get(key):
            products = products.filter(**{lookup: str(selection[key]).strip()})
    if not skus and not any(selection.get(k) for k in ("category", "product_type", "vendor", "tag", "all")):
        raise ValidationError({"selection": gettext("Choose the products: SKUs, a category, a product type, a vendor or a tag (or all: true for the whole"
                                                    " catalog).")})
    return products


@transaction.atomic
def campaign_create(*, name: str, mode: str, prompt_template: str, selection: dict, formats, negative_prompt: str = "",
                    parameters: dict | None = None, seeds_per_item: int = 1, base_seed: int | None = None,
                    alt_template: str = "{name}, {format}", model_id: str | None = None, user=None) -> Campaign:
    """Create a campaign and all its jobs in one transaction (bulk insert); its first jobs are fed after commit.

    ValidationError with sentences for a recipe, selection or format that is wrong; products that cannot take part
    (no photo for a mode that starts from one, a prompt over the limit) are listed in ``skipped``.
    """
    from generation import modelinfo

    require(user, "generation.add_generationjob", gettext("Only merchandisers (or admins) can start campaigns."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": gettext("Give the campaign a name.")})
    if Campaign.objects.filter(name=name).exists():
        raise ValidationError({"name": gettext("A campaign is already called “%(name)s”.") % {"name": name}})
    if mode not in modes.names():
        raise ValidationError({"mode": gettext("Mode must be one of %(join)s.") % {"join": ', '.join(modes.names())}})
    info = modes.get(mode)
    try:
        check_template(prompt_template or "", gettext("prompt template"))
        check_template(alt_template or "", gettext("alt text template"), allowed=(*FIELDS, "format"))
    except ValidationError as exc:
        raise ValidationError({"prompt_template": exc.messages}) from None
    if not (prompt_template or "").strip():
        raise ValidationError({"prompt_template": gettext('Write the prompt template, e.g. "{name} on a wooden table".')})
    try:
        seeds_per_item = int(seeds_per_item)
    except (TypeError, ValueError):
        raise ValidationError({"seeds_per_item": gettext("Candidates per item must be a whole number.")}) from None
    if not 1 <= seeds_per_item <= MAX_SEEDS:
        raise ValidationError({"seeds_per_item": gettext("Candidates per item must be between 1 and %(MAX_SEEDS)s.")
                                                 % {"MAX_SEEDS": MAX_SEEDS}})
    formats = normalise_formats(formats)
    parameters = dict(parameters or {})
    unknown = set(parameters) - set(P.NAMES)
    if unknown or {"mode", "prompt", "seed", "width", "height"} & set(parameters):
        wrong = sorted(unknown | ({"mode", "prompt", "seed", "width", "height"} & set(parameters)))
        raise ValidationError({"parameters": gettext("Not a campaign parameter: %(join)s (the recipe, the formats and the candidates set mode, prompt, "
                                                     "size and seed).") % {"join": ', '.join(wrong)}})
    base_seed = services.new_seed() if base_seed is None else int(base_seed)
    if not 0 <= base_seed <= P.SEED_MAX - seeds_per_item:
        raise ValidationError({"base_seed": gettext("The first seed must be between 0 and %(value)s.")
                                            % {"value": P.SEED_MAX - seeds_per_item}})
    by_format = {}
    for fmt in formats:
        params = {**parameters, "mode": mode, "prompt": "-", "negative_prompt": negative_prompt, "seed": base_seed,
                  "width": fmt["width"], "height": fmt["height"]}
        if modes.uses(mode, "product_scale"):
            params["product_scale"] = fmt["product_scale"]
        try:
            by_format[fmt["name"]] = services.validate_parameters(params, has_source=info.uses_photo)
        except ValidationError as exc:
            raise ValidationError({"parameters": [f"{fmt['name']}: {m}" for m in exc.messages]}) from None
    products = list(select_products(selection).annotate(first_photo=Min("photos__id")).order_by("sku"))
    if not products:
        raise ValidationError({"selection": gettext("The selection matches no product.")})
    model_id = modelinfo.requested_model_id() if model_id is None else model_id
    campaign = Campaign.objects.create(
        name=name, mode=mode, prompt_template=prompt_template, negative_prompt=negative_prompt, parameters=parameters,
        seeds_per_item=seeds_per_item, base_seed=base_seed, selection=selection, formats=formats,
        alt_template=alt_template or "", model_id=model_id, created_by=user)
    jobs, skipped = [], []
    for product in products:
        if info.uses_photo and product.first_photo is None:
            skipped.append([product.sku, "no photo: add one to the product"])
            continue
        prompt = render(prompt_template, product_fields(product))
        if len(prompt) > P.PROMPT_MAX:
            skipped.append([product.sku, gettext("its prompt is %(count)s characters (the limit is %(PROMPT_MAX)s)")
                                         % {"count": len(prompt), "PROMPT_MAX": P.PROMPT_MAX}])
            continue
        for fmt in formats:
            values = by_format[fmt["name"]]
            for n in range(seeds_per_item):
                jobs.append(GenerationJob(**{**values, "prompt": prompt, "seed": base_seed + n}, model_id=model_id,
                                          product_id=product.pk, source_photo_id=product.first_photo if info.uses_photo else None,
                                          campaign=campaign, campaign_format=fmt["name"], created_by=user))
    if len(jobs) > MAX_JOBS:
        raise ValidationError({"selection": gettext("This campaign would make %(count)s jobs; at most %(MAX_JOBS)s at once: choose fewer products, "
                                                    "formats or candidates.") % {"count": len(jobs), "MAX_JOBS": MAX_JOBS}})
    if not jobs:
        raise ValidationError({"selection": gettext("None of the selected products can take part: ") +
                                            "; ".join(f"{sku}: {why}" for sku, why in skipped[:5])})
    GenerationJob.objects.bulk_create(jobs, batch_size=1000)
    if skipped:
        Campaign.objects.filter(pk=campaign.pk).update(skipped=skipped)
        campaign.skipped = skipped
    transaction.on_commit(lambda: feed(campaign.pk))
    return campaign


def window() -> int:
    return settings.SDSTUDIO_CAMPAIGN_WINDOW


def feed(campaign_id: int) -> int:
    """Put the campaign's next jobs on its model's campaign queue, up to the window; returns how many."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, status=CampaignStatus.ACTIVE).first()
        if campaign is None:
            return 0
        waiting = GenerationJob.objects.filter(campaign_id=campaign_id, status=Status.QUEUED).exclude(rq_job_id="").count()
        wanted = window() - waiting
        if wanted <= 0:
            return 0
        next_ids = list(GenerationJob.objects.filter(campaign_id=campaign_id, status=Status.QUEUED, rq_job_id="")
                        .order_by("id").values_list("pk", flat=True)[:wanted])
    return sum(1 for pk in next_ids if services.job_enqueue(job_id=pk))


def feed_all() -> int:
    """Feed every active campaign with jobs waiting (the reconciler's pass: nothing stalls after a lost worker)."""
    ids = (GenerationJob.objects.filter(status=Status.QUEUED, rq_job_id="", campaign__status=CampaignStatus.ACTIVE)
           .values_list("campaign_id", flat=True).distinct())
    return sum(feed(pk) for pk in list(ids))


def _take_back(campaign: Campaign) -> None:
    """The campaign's jobs waiting in Redis leave it (their rows stay queued, unfed)."""
    from redis.exceptions import RedisError

    fed = list(GenerationJob.objects.filter(campaign=campaign, status=Status.QUEUED).exclude(rq_job_id="")
               .values_list("pk", "rq_job_id"))
    try:
        queue = services.get_queue(campaign.model_id, campaign=True)
        for _, rq_id in fed:
            queue.remove(rq_id)
    except RedisError:
        pass  # a worker that takes one finds its campaign paused and gives it back (execution)
    GenerationJob.objects.filter(pk__in=[pk for pk, _ in fed], status=Status.QUEUED).update(rq_job_id="", updated_at=timezone.now())


def campaign_pause(*, campaign: Campaign, user) -> Campaign:
    _require_owner(campaign, user, gettext_lazy("pause"))
    if campaign.status != CampaignStatus.ACTIVE:
        raise ValidationError(gettext("The campaign is %(status)s; only an active campaign can be paused.")
                              % {"status": campaign.get_status_display()})
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED, updated_at=timezone.now())
    campaign.status = CampaignStatus.PAUSED
    _take_back(campaign)
    return campaign


def campaign_resume(*, campaign: Campaign, user) -> Campaign:
    _require_owner(campaign, user, gettext_lazy("resume"))
    if campaign.status != CampaignStatus.PAUSED:
        raise ValidationError(gettext("The campaign is %(status)s; only a paused campaign can be resumed.")
                              % {"status": campaign.get_status_display()})
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.ACTIVE, updated_at=timezone.now())
    campaign.status = CampaignStatus.ACTIVE
    transaction.on_commit(lambda: feed(campaign.pk))
    return campaign


def campaign_cancel(*, campaign: Campaign, user) -> dict[str, int]:
    """Every job not finished is canceled (a running one at its next step); returns how many of each."""
    _require_owner(campaign, user, gettext_lazy("cancel"))
    if campaign.status == CampaignStatus.CANCELED:
        raise ValidationError(gettext("The campaign is already canceled."))
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CANCELED, updated_at=timezone.now())
    campaign.status = CampaignStatus.CANCELED
    _take_back(campaign)
    now = timezone.now()
    queued = services.jobs_transition("cancel", where={"campaign": campaign}, now=now, cancel_requested=True, finished_at=now,
                                      error=gettext("The campaign was canceled."))
    running = GenerationJob.objects.filter(campaign=campaign, status=Status.RUNNING).update(cancel_requested=True, updated_at=now)
    return {"canceled": queued, "stopping": running}


def campaign_retry_failed(*, campaign: Campaign, user) -> int:
    """The campaign's failed jobs go back to its queue as a set; returns how many."""
    _require_owner(campaign, user, gettext_lazy("retry"))
    if campaign.status == CampaignStatus.CANCELED:
        raise ValidationError(gettext("The campaign is canceled: its failed jobs stay as they are."))
    retried = services.jobs_transition("retry", where={"campaign": campaign}, error="", cancel_requested=False,
                                       finished_at=None, rq_job_id="")
    transaction.on_commit(lambda: feed(campaign.pk))
    return retried


def _require_owner(campaign: Campaign, user, action: str) -> None:
    from django.core.exceptions import PermissionDenied

    if user is None:
        return
    if not user.has_perm("generation.change_generationjob") or not (campaign.created_by_id == user.pk or user.is_superuser):
        raise PermissionDenied(gettext("Only the person who started the campaign, or an administrator, can %(action)s it.")
                               % {"action": action})


# What a person may do to a campaign, by name (the page, the API and the command share it).
ACTIONS = {"pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel, "retry": campaign_retry_failed}


def claimed(job: GenerationJob) -> bool:
    """A worker claimed one of a campaign's jobs: True to run it. False when its campaign was paused meanwhile (the
    row goes back to queued, not fed, its attempt not counted) or canceled (the row is stopped)."""
    from django.db.models import F

    status = Campaign.objects.filter(pk=job.campaign_id).values_list("status", flat=True).first()
    if status in (None, CampaignStatus.ACTIVE):
        return True
    now = timezone.now()
    if status == CampaignStatus.PAUSED:
        services.jobs_transition("requeue", where={"pk": job.pk}, now=now, rq_job_id="", worker_name="", started_at=None,
                                 attempts=F("attempts") - 1)
    else:
        services.jobs_transition("stop", where={"pk": job.pk}, now=now, cancel_requested=True, finished_at=now,
                                 error=gettext("The campaign was canceled."))
    return False


def progress(campaign: Campaign) -> dict:
    """Counts per status and per format, and how many product x format items have an approved image."""
    return progress_of([campaign])[campaign.pk]


def progress_of(campaigns: list[Campaign]) -> dict[int, dict]:
    """``progress`` of several campaigns at once (a list page): one aggregate query of a row per campaign and
    format, whatever their size."""
    ids = [c.pk for c in campaigns]
    jobs = GenerationJob.objects.filter(campaign_id__in=ids)
    result = {}
    for campaign in campaigns:
        per_format = {name: {"total": 0, "succeeded": 0, "approved_items": 0} for name in campaign.format_names()}
        result[campaign.pk] = {"by_status": {s.value: 0 for s in Status}, "per_format": per_format, "products": 0,
                               "formats": len(campaign.formats)}

    def fmt(campaign_id, name) -> dict:
        return result[campaign_id]["per_format"].setdefault(name, {"total": 0, "succeeded": 0, "approved_items": 0})

    # One scan: a row per campaign and format. Every product of a campaign has jobs in each of its formats, so the
    # campaign's products are its largest per-format count.
    statuses = [s.value for s in Status]
    rows = (jobs.values("campaign_id", "campaign_format")
            .annotate(products=Count("product_id", distinct=True),
                      approved=Count("product_id", distinct=True, filter=Q(decision="approved")),
                      **{f"n_{status}": Count("id", filter=Q(status=status)) for status in statuses}).order_by())
    for row in rows:
        summary = result[row["campaign_id"]]
        cell = fmt(row["campaign_id"], row["campaign_format"])
        for status in statuses:
            summary["by_status"][status] += row[f"n_{status}"]
            cell["total"] += row[f"n_{status}"]
        cell["succeeded"] += row[f"n_{Status.SUCCEEDED.value}"]
        cell["approved_items"] = row["approved"]
        summary["products"] = max(summary["products"], row["products"])
    for summary in result.values():
        totals = summary["by_status"]
        total = sum(totals.values())
        finished = totals[Status.SUCCEEDED] + totals[Status.FAILED] + totals[Status.CANCELED]
        items = summary["products"] * summary.pop("formats")
        approved_items = sum(f["approved_items"] for f in summary["per_format"].values())
        summary.update(total=total, finished=finished, items=items, approved_items=approved_items,
                       missing_items=items - approved_items, percent=round(100 * finished / total) if total else 0)
    return result
