"""Rubric and decisions: bounds, totals, who may decide, and the history kept."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from conftest import finished_job
from evaluation import services
from evaluation.models import Evaluation, EvaluationRevision, ReviewDecision

pytestmark = pytest.mark.django_db
SCORES = {"prompt_adherence": 2, "visual_realism": 1, "artifacts": 2, "ecommerce_usability": 1, "reproducibility": 2}


def test_total_is_the_sum_out_of_ten(reviewer):
    evaluation = services.evaluation_submit(job=finished_job(), user=reviewer, scores=SCORES, justification="- sharp")
    assert evaluation.total == 8


@pytest.mark.parametrize("bad", [-1, 3, None, "2"])
def test_scores_outside_0_2_are_refused(reviewer, bad):
    job = finished_job()
    with pytest.raises(ValidationError) as info:
        services.evaluation_submit(job=job, user=reviewer, scores={**SCORES, "artifacts": bad})
    assert info.value.message_dict == {"artifacts": ["Score 0, 1 or 2."]}
    assert not Evaluation.objects.exists()


def test_the_database_holds_the_bounds_and_the_total(reviewer):
    job = finished_job()
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.bulk_create([Evaluation(job=job, reviewer=reviewer, **{**SCORES, "visual_realism": 5}, total=12)])
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.bulk_create([Evaluation(job=job, reviewer=reviewer, **SCORES, total=10)])


def test_one_evaluation_per_reviewer_editable_with_history(reviewer):
    job = finished_job()
    services.evaluation_submit(job=job, user=reviewer, scores=SCORES, justification="first")
    services.evaluation_submit(job=job, user=reviewer, scores={**SCORES, "visual_realism": 2}, justification="second look")
    evaluation = Evaluation.objects.get()
    assert evaluation.total == 9 and evaluation.justification == "second look"
    history = list(EvaluationRevision.objects.order_by("id").values_list("total", "justification"))
    assert history == [(8, "first"), (9, "second look")]


def test_merchandisers_cannot_score_or_decide(merchandiser):
    job = finished_job()
    with pytest.raises(PermissionDenied, match="Reviewers"):
        services.evaluation_submit(job=job, user=merchandiser, scores=SCORES)
    with pytest.raises(PermissionDenied, match="Reviewers"):
        services.decision_record(job=job, user=merchandiser, decision="approved")
    job.refresh_from_db()
    assert job.decision == "" and not ReviewDecision.objects.exists()


def test_rejection_needs_a_reason_and_decisions_keep_an_audit_trail(reviewer, admin_user):
    job = finished_job()
    with pytest.raises(ValidationError, match="Say why"):
        services.decision_record(job=job, user=reviewer, decision="rejected", reason="  ")
    services.decision_record(job=job, user=reviewer, decision="rejected", reason="logo is garbled")
    services.decision_record(job=job, user=admin_user, decision="approved")
    job.refresh_from_db()
    assert job.decision == "approved"
    trail = list(ReviewDecision.objects.order_by("id").values_list("decision", "decided_by__username", "reason"))
    assert trail == [("rejected", "reviewer", "logo is garbled"), ("approved", "boss", "")]


def test_unfinished_outputs_cannot_be_decided(reviewer):
    from generation.models import GenerationJob

    job = GenerationJob.objects.create(prompt="x", seed=1)
    with pytest.raises(ValidationError, match="finished output"):
        services.decision_record(job=job, user=reviewer, decision="approved")


def test_queue_is_oldest_first_with_previous_and_next(client, reviewer):
    from django.utils import timezone

    from evaluation.selectors import queue_neighbours, review_queue
    from generation.models import GenerationJob

    jobs = [finished_job(seed=seed) for seed in range(3)]
    for offset, job in enumerate(jobs):
        GenerationJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timezone.timedelta(minutes=10 - offset))
        job.refresh_from_db()
    assert list(review_queue()) == jobs
    assert queue_neighbours(jobs[1]) == (jobs[0], jobs[2])
    services.decision_record(job=jobs[1], user=reviewer, decision="approved")
    assert list(review_queue()) == [jobs[0], jobs[2]]
    client.force_login(reviewer)
    page = client.get(f"/jobs/{jobs[0].pk}/?next=queue").content.decode()
    assert f'href="/jobs/{jobs[2].pk}/?next=queue" id="queue-next"' in page and "queue-previous" not in page
    # deciding from the queue moves on to the next waiting output
    response = client.post(f"/review/jobs/{jobs[0].pk}/decide/", {"decision": "approved", "next": "queue"})
    assert response["Location"] == f"{jobs[2].get_absolute_url()}?next=queue"  # the next job opens in queue mode
