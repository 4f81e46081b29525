"""Reading generation jobs: the one job filter (gallery, API, review queue) and what other apps read of jobs."""
from __future__ import annotations

from typing import Mapping

from django.db.models import QuerySet

from generation import modes
from generation.models import Decision, GenerationJob, Status
from sdstudio.textsafe import parse_id

# What a list of jobs can be narrowed by, in the query string of every page and endpoint that lists them.
JOB_FILTERS = ("product", "mode", "status", "decision", "experiment", "campaign", "reruns")


def jobs_for_listing() -> QuerySet[GenerationJob]:
    """The job list and gallery: everything each row shows, in a bounded number of queries."""
    return GenerationJob.objects.select_related("product", "source_photo", "created_by", "experiment")


def filter_jobs(jobs: QuerySet[GenerationJob], filters: Mapping[str, str]) -> QuerySet[GenerationJob]:
    """``jobs`` narrowed by JOB_FILTERS: product (SKU), mode, status, decision (approved, rejected, or pending: a
    finished output waiting for one), experiment (id), campaign (id), reruns (only, none). Unknown values are ignored, not errors."""
    value = {key: (filters.get(key) or "").strip() for key in JOB_FILTERS}
    if value["product"]:
        jobs = jobs.filter(product__sku=value["product"])
    if value["mode"] in modes.names():
        jobs = jobs.filter(mode=value["mode"])
    if value["status"] in Status.values:
        jobs = jobs.filter(status=value["status"])
    if value["decision"] == "pending":
        jobs = jobs.filter(status=Status.SUCCEEDED, decision="")
    elif value["decision"] in Decision.values:
        jobs = jobs.filter(decision=value["decision"])
    experiment_id = parse_id(value["experiment"])
    if experiment_id is not None:
        jobs = jobs.filter(experiment_id=experiment_id)
    campaign_id = parse_id(value["campaign"])
    if campaign_id is not None:
        jobs = jobs.filter(campaign_id=campaign_id)
    if value["reruns"] == "only":
        jobs = jobs.filter(rerun_of__isnull=False)
    elif value["reruns"] == "none":
        jobs = jobs.filter(rerun_of__isnull=True)
    return jobs


def published_images(*, campaign: int | None = None) -> list:
    """Approved outputs of a product with their public link: what the shop's feeds and exports carry
    (catalog.published.PublishedImage), by SKU, oldest first. ``campaign`` (an id): that campaign's only, each
    product's in the order of the campaign's formats, with the campaign's alt text."""
    from django.db.models import Case, IntegerField, Value, When

    from catalog.published import PublishedImage
    from generation.campaigns import product_fields, render
    from generation.models import Campaign

    jobs = GenerationJob.objects.filter(GenerationJob.published(), product__isnull=False)
    if campaign is None:
        jobs = jobs.only("product_id", "public_token", "mode").order_by("product__sku", "finished_at", "id")
        return [PublishedImage(product_id=job.product_id, path=job.public_path, made_with=job.mode_info.label.lower()) for job in jobs]
    recipe = Campaign.objects.filter(pk=campaign).first()
    if recipe is None:
        return []
    labels = {f["name"]: f.get("label") or f["name"] for f in recipe.formats}
    position = Case(*[When(campaign_format=name, then=Value(i)) for i, name in enumerate(labels)], default=Value(len(labels)),
                    output_field=IntegerField())
    jobs = (jobs.filter(campaign_id=campaign).select_related("product").annotate(format_position=position)
            .order_by("product__sku", "format_position", "finished_at", "id"))
    return [PublishedImage(product_id=job.product_id, path=job.public_path, made_with=job.mode_info.label.lower(),
                           alt=render(recipe.alt_template, product_fields(job.product, format=labels.get(job.campaign_format, "")))
                           if recipe.alt_template else "")
            for job in jobs]


def product_jobs(product) -> QuerySet[GenerationJob]:
    """A product page's jobs, newest first, with what each row shows."""
    return jobs_for_listing().filter(product=product)


def job_reference(job: GenerationJob):
    """(reference, kept mask) a reviewer compares the output with, both at the output's size, as the job's mode
    says (img2img: its source as the pipeline saw it; a scene: the product placed on its photo's background, with
    the placed mask of the pixels kept); (None, None) for a mode without a photo or a job without its source."""
    from generation import services
    from sdstudio.images import open_image

    if not job.mode_info.uses_photo or not job.source_photo_id or not job.source_photo.image:
        return None, None
    photo = open_image(job.source_photo.image).convert("RGB")
    return job.mode_info.reference(photo, services.job_mask_image(job), job)
