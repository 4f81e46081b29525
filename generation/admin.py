from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext, gettext_lazy

from catalog.admin import thumb
from generation import parameters as P
from generation import services
from generation.models import Experiment, GenerationJob, Status


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "run_name", "product", "mode", "scheduler", "num_inference_steps", "seed", "status", "decision", "rerun_result", "created_at"]
    list_filter = ["status", "mode", "scheduler", "decision", "rerun_result", "experiment"]
    list_select_related = ["product"]
    search_fields = ["prompt", "run_name", "product__sku", "=id"]
    date_hierarchy = "created_at"
    actions = ["rerun", "cancel", "retry"]  # evaluation's admin adds approve and reject
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    fieldsets = [
        (gettext_lazy("Parameters (read-only: re-run to change nothing, create a new job to change something)"), {"fields": [*P.NAMES, "model_id"]}),
        (gettext_lazy("Belongs to"), {"fields": ["product", "source_photo", "experiment", "run_name", "rerun_of", "created_by"]}),
        (gettext_lazy("State"), {"fields": ["status", "decision", "attempts", "cancel_requested", "progress_step", "progress_total", "worker_name", "heartbeat_at", "rq_job_id", "error"]}),
        (gettext_lazy("Output"), {"fields": ["output", "thumbnail", "output_sha256", "fidelity_ssim", "fidelity_phash_distance", "rerun_result", "rerun_max_pixel_diff", "rerun_psnr"]}),
        (gettext_lazy("Timings and environment"), {"fields": ["created_at", "started_at", "finished_at", "queue_wait_seconds", "load_seconds", "inference_seconds", "seconds_per_step", "environment"]}),
    ]

    @admin.display(description=gettext_lazy("Output"))
    def preview(self, obj):
        return thumb(obj.thumbnail)

    def has_add_permission(self, request):
        # Jobs are created through services (form, commands), which validate and enqueue.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def _each(self, request, queryset, action, verb: str) -> None:
        """Run a service on each selected job; its rules (permission, ownership, state) decide, as on the pages."""
        done, refused = [], []
        for job in queryset:
            try:
                result = action(job=job, user=request.user)
            except (PermissionDenied, ValidationError) as exc:
                refused.append(f"#{job.pk}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
            else:
                if result is not False:
                    done.append(f"#{getattr(result, 'pk', job.pk)}")
        self.message_user(request, gettext("%(verb)s: %(jobs)s.") % {"verb": verb, "jobs": ", ".join(done) or gettext("none")})
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description=gettext_lazy("Re-run with identical parameters and seed"), permissions=["rerun"])
    def rerun(self, request, queryset):
        self._each(request, queryset.filter(status=Status.SUCCEEDED), services.job_rerun, gettext("Queued re-run(s)"))

    @admin.action(description=gettext_lazy("Cancel selected jobs"), permissions=["change"])
    def cancel(self, request, queryset):
        self._each(request, queryset.filter(status__in=[Status.QUEUED, Status.RUNNING]), services.job_cancel, gettext("Canceled or asked to stop"))

    @admin.action(description=gettext_lazy("Retry failed jobs"), permissions=["change"])
    def retry(self, request, queryset):
        self._each(request, queryset.filter(status=Status.FAILED), services.job_retry, gettext("Queued again"))

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
