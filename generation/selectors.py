from __future__ import annotations

from django.db.models import QuerySet

from generation.models import GenerationJob


def jobs_for_listing() -> QuerySet[GenerationJob]:
    """The job list and gallery: everything each row shows, in a bounded number of queries."""
    return GenerationJob.objects.select_related("product", "source_photo", "created_by", "experiment")


def job_reference(job: GenerationJob):
    """(reference, kept mask) a reviewer compares the output with, both at the output's size: img2img's source as the
    pipeline saw it (centre-cropped) with no mask; a scene's canvas (the product placed on its photo's background)
    with the placed mask of the pixels kept; (None, None) for text2img or a job without its source."""
    from generation import scene
    from generation import services
    from sdstudio.images import open_image

    if not job.source_photo_id or not job.source_photo.image:
        return None, None
    photo = open_image(job.source_photo.image).convert("RGB")
    if job.mode == "img2img":
        return scene.prepare_source(photo, job.width, job.height), None
    mask = services.job_mask_image(job)
    if job.mode == "scene" and mask is not None:
        placed = scene.place(photo, mask, (job.width, job.height), scale=job.product_scale, x=job.product_x, y=job.product_y)
        return placed.canvas, placed.mask
    return None, None
