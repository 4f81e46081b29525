from __future__ import annotations

from django.db.models import QuerySet

from generation.models import GenerationJob


def jobs_for_listing() -> QuerySet[GenerationJob]:
    """The job list and gallery: everything each row shows, in a bounded number of queries."""
    return GenerationJob.objects.select_related("product", "source_photo", "created_by", "experiment")
