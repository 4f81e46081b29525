from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation.models import Decision  # noqa: F401  (the decision values: the job holds the current one)

# The brief's "light" rubric (exercise 6): integer scores 0..2, total out of 10.
RUBRIC = [
    ("prompt_adherence", _("Prompt adherence"), _("2 = the image shows what the prompt asks for.")),
    ("visual_realism", _("Visual realism"), _("2 = reads as a real photograph.")),
    ("artifacts", _("Artifacts"), _("2 = no disturbing artifact.")),
    ("ecommerce_usability", _("E-commerce usability"), _("2 = publishable after minor retouching.")),
    ("reproducibility", _("Reproducibility"), _("2 = the stored parameters suffice to reproduce it.")),
]
RUBRIC_FIELDS = [name for name, _, _ in RUBRIC]


def score_field(label: str, help_text: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, validators=[MinValueValidator(0), MaxValueValidator(2)], help_text=help_text
    )


class Evaluation(models.Model):
    """One reviewer's rubric for one output; editable, with every version kept in EvaluationRevision."""

    job = models.ForeignKey("generation.GenerationJob", verbose_name=_("job"), on_delete=models.CASCADE,
                            related_name="evaluations")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT,
                                 related_name="evaluations")
    prompt_adherence = score_field(*RUBRIC[0][1:])
    visual_realism = score_field(*RUBRIC[1][1:])
    artifacts = score_field(*RUBRIC[2][1:])
    ecommerce_usability = score_field(*RUBRIC[3][1:])
    reproducibility = score_field(*RUBRIC[4][1:])
    total = models.PositiveSmallIntegerField(_("total"), editable=False, help_text=_("Sum of the five scores, out of 10."))
    justification = models.TextField(_("justification"), blank=True, help_text=_("Two or three bullets: why these scores."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "reviewer"], name="one_evaluation_per_reviewer_per_output"),
            *[
                models.CheckConstraint(condition=Q(**{f"{name}__lte": 2}), name=f"evaluation_{name}_0_2")
                for name in RUBRIC_FIELDS
            ],
            models.CheckConstraint(
                condition=Q(
                    total=F("prompt_adherence") + F("visual_realism") + F("artifacts")
                    + F("ecommerce_usability") + F("reproducibility")
                ),
                name="evaluation_total_is_sum",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(job)s by %(reviewer)s: %(total)s/10") % {
            "job": self.job_id, "reviewer": self.reviewer, "total": self.total}

    def save(self, *args, **kwargs) -> None:
        self.total = sum(getattr(self, name) for name in RUBRIC_FIELDS)
        super().save(*args, **kwargs)

    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in RUBRIC_FIELDS}


class EvaluationRevision(models.Model):
    """An immutable snapshot written each time an evaluation is created or changed."""

    evaluation = models.ForeignKey(Evaluation, verbose_name=_("evaluation"), on_delete=models.CASCADE, related_name="revisions")
    scores = models.JSONField(_("scores"))
    total = models.PositiveSmallIntegerField(_("total"))
    justification = models.TextField(_("justification"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("evaluation revision")
        verbose_name_plural = _("evaluation revisions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("revision of %(evaluation)s: %(total)s/10") % {"evaluation": self.evaluation_id, "total": self.total}




class ReviewDecision(models.Model):
    """Approve/reject decisions for an output; the newest row is the current decision, older rows the audit trail."""

    job = models.ForeignKey("generation.GenerationJob", verbose_name=_("job"), on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(decision=Decision.REJECTED) | ~Q(reason=""), name="rejection_needs_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.decision} by {self.decided_by}"
