from __future__ import annotations

from django.db.models import Avg, QuerySet

from evaluation.models import Evaluation, ReviewDecision
from generation.models import GenerationJob, Status
from generation.selectors import filter_jobs


def review_summary(*, job: GenerationJob, user) -> dict:
    evaluations = list(Evaluation.objects.filter(job=job).select_related("reviewer"))
    mine = next((e for e in evaluations if e.reviewer_id == user.pk), None)
    return {
        "evaluations": evaluations,
        "my_evaluation": mine,
        "average_total": (sum(e.total for e in evaluations) / len(evaluations)) if evaluations else None,
        "decisions": list(ReviewDecision.objects.filter(job=job).select_related("decided_by")),
    }


QUEUE_FILTERS = ("product", "mode", "experiment", "campaign", "reruns")


def review_queue(filters: dict | None = None) -> QuerySet[GenerationJob]:
    """Outputs waiting for a decision, oldest first; ``filters``: product (SKU), mode, experiment (id), campaign (id),
    reruns (only/none)."""
    queue = (
        GenerationJob.objects.filter(status=Status.SUCCEEDED, decision="")
        .select_related("product", "source_photo", "rerun_of")
        .order_by("finished_at", "id")
    )
    return filter_jobs(queue, {key: value for key, value in (filters or {}).items() if key in QUEUE_FILTERS})


def average_totals(job_ids) -> dict[int, float]:
    rows = Evaluation.objects.filter(job_id__in=job_ids).values("job_id").annotate(avg=Avg("total"))
    return {row["job_id"]: row["avg"] for row in rows}


def queue_neighbours(job: GenerationJob) -> tuple[GenerationJob | None, GenerationJob | None]:
    """The outputs before and after this one in the review queue (for previous/next while reviewing)."""
    from django.db.models import Q

    queue = review_queue().exclude(pk=job.pk)
    if job.finished_at is None:
        return None, queue.first()
    before = Q(finished_at__lt=job.finished_at) | Q(finished_at=job.finished_at, id__lt=job.pk)
    after = Q(finished_at__gt=job.finished_at) | Q(finished_at=job.finished_at, id__gt=job.pk)
    return queue.filter(before).order_by("-finished_at", "-id").first(), queue.filter(after).first()
