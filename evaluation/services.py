"""Reviewers' writes: rubric evaluations (versioned) and approve/reject decisions (audited)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from evaluation.models import RUBRIC_FIELDS, Decision, Evaluation, EvaluationRevision, ReviewDecision
from generation import services
from generation.models import GenerationJob, Status
from sdstudio.roles import require


def _require(user, perm: str, action: str) -> None:
    require(user, perm, gettext("Only members of Reviewers (or admins) can %(action)s.") % {"action": action})


@transaction.atomic
def evaluation_submit(*, job: GenerationJob, user, scores: dict[str, int], justification: str = "", reviewer=None) -> Evaluation:
    """Create or update ``reviewer``'s rubric for the output (default: the acting ``user``'s own); every version is
    kept with who made it. An administrator correcting another reviewer's scores needs the change permission and
    is recorded as the revision's author.
    """
    reviewer = reviewer or user
    if user != reviewer and not (user.is_staff and user.has_perm("evaluation.change_evaluation")):
        raise PermissionDenied(gettext("Only administrators can change another reviewer's scores."))
    _require(user, "evaluation.add_evaluation" if user == reviewer else "evaluation.change_evaluation", gettext_lazy("score outputs"))
    if job.status != Status.SUCCEEDED:
        raise ValidationError(gettext("Only a finished output can be scored."))
    errors = {name: "Score 0, 1 or 2." for name in RUBRIC_FIELDS if scores.get(name) not in (0, 1, 2)}
    if errors:
        raise ValidationError(errors)
    evaluation, _ = Evaluation.objects.select_for_update().get_or_create(
        job=job, reviewer=reviewer, defaults={**{n: scores[n] for n in RUBRIC_FIELDS}, "justification": justification.strip()}
    )
    for name in RUBRIC_FIELDS:
        setattr(evaluation, name, scores[name])
    evaluation.justification = justification.strip()
    evaluation.save()
    EvaluationRevision.objects.create(
        evaluation=evaluation,
        scores=evaluation.scores(),
        total=evaluation.total,
        justification=evaluation.justification,
        created_by=user,
    )
    return evaluation


@transaction.atomic
def decision_record(*, job: GenerationJob, user, decision: str, reason: str = "", confirmed: bool = False) -> ReviewDecision:
    """Approve or reject an output for the shop; the job keeps the current decision, the rows keep the history.

    A scene whose kept region has warnings (GenerationJob.kept_warnings) is approved only ``confirmed``: the
    reviewer says they checked it.
    """
    _require(user, "evaluation.add_reviewdecision", gettext_lazy("approve or reject outputs"))
    if decision not in Decision.values:
        raise ValidationError({"decision": gettext("Choose approved or rejected.")})
    if decision == Decision.REJECTED and not reason.strip():
        raise ValidationError({"reason": gettext("Say why it is rejected: the merchandiser needs the reason to try again.")})
    job = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if job.status != Status.SUCCEEDED:
        raise ValidationError(gettext("Only a finished output can be approved or rejected."))
    if decision == Decision.APPROVED and job.kept_warnings and not confirmed:
        raise ValidationError({"confirm": gettext("Job #%(pk)s: %(join)s. Tick \"I checked what the scene kept\" to approve it anyway.")
                                          % {"pk": job.pk, "join": '; '.join(job.kept_warnings)}})
    row = ReviewDecision.objects.create(job=job, decision=decision, reason=reason.strip(), decided_by=user)
    GenerationJob.objects.filter(pk=job.pk).update(decision=decision, updated_at=timezone.now())
    if decision == Decision.APPROVED:
        services.job_publish(job_id=job.pk)  # its public link for the shop; a later rejection makes the link answer 410
    return row


@transaction.atomic
def decision_record_many(*, jobs, user, decision: str, reason: str = "", confirmed: bool = False) -> list[ReviewDecision]:
    """One decision for a selection: each job gets its own audited decision, all or none."""
    if not jobs:
        raise ValidationError(gettext("Select at least one output."))
    return [decision_record(job=job, user=user, decision=decision, reason=reason, confirmed=confirmed) for job in jobs]
