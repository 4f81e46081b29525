from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.admin import thumb
from generation import services
from generation.models import Experiment, GenerationJob, Status

PARAMETER_FIELDS = ["mode", "prompt", "negative_prompt", "seed", "num_inference_steps", "guidance_scale", "scheduler", "width", "height", "strength", "model_id"]


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "run_name", "product", "mode", "scheduler", "num_inference_steps", "seed", "status", "decision", "rerun_result", "created_at"]
    list_filter = ["status", "mode", "scheduler", "decision", "rerun_result", "experiment"]
    list_select_related = ["product"]
    search_fields = ["prompt", "run_name", "product__sku", "=id"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject", "rerun", "cancel", "retry"]
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    fieldsets = [
        ("Parameters (read-only: re-run to change nothing, create a new job to change something)", {"fields": PARAMETER_FIELDS}),
        ("Belongs to", {"fields": ["product", "source_photo", "experiment", "run_name", "rerun_of", "created_by"]}),
        ("State", {"fields": ["status", "decision", "attempts", "cancel_requested", "progress_step", "progress_total", "worker_name", "heartbeat_at", "rq_job_id", "error"]}),
        ("Output", {"fields": ["output", "thumbnail", "output_sha256", "fidelity_ssim", "fidelity_phash_distance", "rerun_result", "rerun_max_pixel_diff", "rerun_psnr"]}),
        ("Timings and environment", {"fields": ["created_at", "started_at", "finished_at", "queue_wait_seconds", "load_seconds", "inference_seconds", "seconds_per_step", "environment"]}),
    ]

    @admin.display(description="Output")
    def preview(self, obj):
        return thumb(obj.thumbnail)

    def has_add_permission(self, request):
        # Jobs are created through services (form, commands), which validate and enqueue.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

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
        self.message_user(request, f"{done} output(s) {decision}.")

    @admin.action(description="Approve selected outputs")
    def approve(self, request, queryset):
        self._decide(request, queryset, "approved", "")

    @admin.action(description="Reject selected outputs (reason: rejected in admin)")
    def reject(self, request, queryset):
        self._decide(request, queryset, "rejected", "Rejected from the admin list.")

    @admin.action(description="Re-run with identical parameters and seed", permissions=["rerun"])
    def rerun(self, request, queryset):
        created = [services.job_rerun(job=job, created_by=request.user).pk for job in queryset.filter(status=Status.SUCCEEDED)]
        self.message_user(request, f"Queued re-run(s): {', '.join(f'#{pk}' for pk in created) or 'none (only succeeded jobs re-run)'}.")

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel(self, request, queryset):
        states = [services.job_cancel(job=job) for job in queryset.filter(status__in=[Status.QUEUED, Status.RUNNING])]
        self.message_user(request, f"{len(states)} job(s) canceled or asked to stop.")

    @admin.action(description="Retry failed jobs", permissions=["change"])
    def retry(self, request, queryset):
        retried = sum(services.job_retry(job=job) for job in queryset.filter(status=Status.FAILED))
        self.message_user(request, f"{retried} failed job(s) queued again.")

    def has_rerun_permission(self, request):
        return request.user.has_perm("generation.rerun_generationjob")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("generation.change_generationjob")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "product", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "product__sku"]
    list_select_related = ["product"]
