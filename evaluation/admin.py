from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext, gettext_lazy, ngettext

from evaluation.models import Evaluation, EvaluationRevision, ReviewDecision
from generation.admin import GenerationJobAdmin
from generation.models import Decision, GenerationJob, Status


class ReviewedJobAdmin(GenerationJobAdmin):
    """The job admin with the review actions: evaluation builds on generation, never the other way."""

    actions = ["approve", "reject", *GenerationJobAdmin.actions]

    def _decide(self, request, queryset, decision: str, reason: str):
        from evaluation.services import decision_record

        done = 0
        for job in queryset.filter(status=Status.SUCCEEDED):
            try:
                decision_record(job=job, user=request.user, decision=decision, reason=reason)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            except ValidationError as exc:
                self.message_user(request, f"#{job.pk}: {' '.join(exc.messages)}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, (ngettext("%(count)s output approved.", "%(count)s outputs approved.", done) if decision == Decision.APPROVED
                                    else ngettext("%(count)s output rejected.", "%(count)s outputs rejected.", done)) % {"count": done})

    @admin.action(description=gettext_lazy("Approve selected outputs"))
    def approve(self, request, queryset):
        self._decide(request, queryset, Decision.APPROVED, "")

    @admin.action(description=gettext_lazy("Reject selected outputs (reason: rejected in admin)"))
    def reject(self, request, queryset):
        self._decide(request, queryset, Decision.REJECTED, gettext("Rejected from the admin list."))


admin.site.unregister(GenerationJob)
admin.site.register(GenerationJob, ReviewedJobAdmin)


class RevisionInline(admin.TabularInline):
    model = EvaluationRevision
    extra = 0
    can_delete = False
    readonly_fields = ["scores", "total", "justification", "created_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["job", "reviewer", "prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability", "reproducibility", "total", "updated_at"]
    list_filter = ["total", "reviewer"]
    list_select_related = ["job", "reviewer"]
    search_fields = ["job__run_name", "job__product__sku", "justification"]
    readonly_fields = ["job", "reviewer", "total", "created_at", "updated_at"]
    inlines = [RevisionInline]

    def has_add_permission(self, request):
        return False  # Scored on the job page, through evaluation_submit (which keeps the history).

    def save_model(self, request, obj, form, change):
        from evaluation.services import evaluation_submit

        # The reviewer's evaluation keeps its owner; the revision records the admin who changed it.
        evaluation_submit(job=obj.job, reviewer=obj.reviewer, scores=obj.scores(), justification=obj.justification,
                          user=request.user)


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(admin.ModelAdmin):
    list_display = ["job", "decision", "decided_by", "created_at", "reason"]
    list_filter = ["decision"]
    list_select_related = ["job", "decided_by"]
    readonly_fields = ["job", "decision", "reason", "decided_by", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # The audit trail is append-only.

    def has_delete_permission(self, request, obj=None):
        return False
