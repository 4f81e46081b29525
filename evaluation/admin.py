from django.contrib import admin

from evaluation.models import Evaluation, EvaluationRevision, ReviewDecision


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

        evaluation_submit(job=obj.job, reviewer=obj.reviewer, scores=obj.scores(), justification=obj.justification)


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
