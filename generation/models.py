from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

SEED_MAX = 2**32 - 1


class Mode(models.TextChoices):
    TEXT2IMG = "text2img", "Text to image"
    IMG2IMG = "img2img", "Image to image"


class Scheduler(models.TextChoices):
    EULER_A = "euler_a", "Euler ancestral"
    DDIM = "ddim", "DDIM"
    DPMPP_2M = "dpmpp_2m", "DPM++ 2M"
    EULER = "euler", "Euler"
    PNDM = "pndm", "PNDM"
    LMS = "lms", "LMS"
    UNIPC = "unipc", "UniPC"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class RerunResult(models.TextChoices):
    IDENTICAL = "identical", "Identical pixels"
    DRIFTED = "drifted", "Drifted"


class Experiment(models.Model):
    """A named set of jobs compared side by side (the brief's controlled study, or any sweep)."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, default="sweep", help_text="tp2 for the brief's study, sweep otherwise.")
    description = models.TextField(blank=True)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="experiments")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("experiments:experiment_detail", kwargs={"pk": self.pk})


class GenerationJob(models.Model):
    # What to make (named as diffusers names its call arguments).
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.TEXT2IMG)
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField()
    num_inference_steps = models.PositiveIntegerField(default=30)
    guidance_scale = models.FloatField(default=7.5)
    scheduler = models.CharField(max_length=16, choices=Scheduler.choices, default=Scheduler.EULER_A)
    width = models.PositiveIntegerField(default=512)
    height = models.PositiveIntegerField(default=512)
    strength = models.FloatField(null=True, blank=True, help_text="img2img only: 0 < strength <= 1.")
    model_id = models.CharField(max_length=500, blank=True, help_text="The model asked for; blank = the embedded model.")

    # What it belongs to.
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    source_photo = models.ForeignKey("catalog.ProductPhoto", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    run_name = models.CharField(max_length=100, blank=True, help_text="e.g. t2i_run01_baseline")
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs")

    # Where it is.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    rq_job_id = models.CharField(max_length=100, blank=True)
    cancel_requested = models.BooleanField(default=False)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    worker_name = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    # What came out.
    output = models.ImageField(upload_to="outputs/", blank=True)
    thumbnail = models.ImageField(upload_to="thumbs/", blank=True, help_text="256 px preview, made once when the job succeeds.")
    output_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the decoded RGB pixels.")
    environment = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queue_wait_seconds = models.FloatField(null=True, blank=True)
    load_seconds = models.FloatField(null=True, blank=True)
    inference_seconds = models.FloatField(null=True, blank=True)
    seconds_per_step = models.FloatField(null=True, blank=True)
    fidelity_ssim = models.FloatField(null=True, blank=True, help_text="img2img: SSIM of output vs source (1 = same).")
    fidelity_phash_distance = models.PositiveIntegerField(null=True, blank=True, help_text="img2img: perceptual-hash Hamming distance to source (0 = same).")
    rerun_result = models.CharField(max_length=16, choices=RerunResult.choices, blank=True)
    rerun_max_pixel_diff = models.PositiveIntegerField(null=True, blank=True)
    rerun_psnr = models.FloatField(null=True, blank=True, help_text="dB; empty when the pixels are identical (infinite).")
    # The current review decision, kept in step with evaluation.ReviewDecision (its audit trail) by the services.
    decision = models.CharField(max_length=16, blank=True, db_index=True, help_text="approved / rejected; blank = waiting.")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(seed__gte=0) & Q(seed__lte=SEED_MAX), name="job_seed_range"),
            models.CheckConstraint(condition=Q(num_inference_steps__gte=1) & Q(num_inference_steps__lte=150), name="job_steps_range"),
            models.CheckConstraint(condition=Q(guidance_scale__gte=0) & Q(guidance_scale__lte=30), name="job_guidance_range"),
            models.CheckConstraint(condition=Q(width__gte=64) & Q(width__lte=2048) & Q(height__gte=64) & Q(height__lte=2048), name="job_size_range"),
            models.CheckConstraint(
                condition=(Q(mode="text2img") & Q(strength__isnull=True))
                | (Q(mode="img2img") & Q(strength__gt=0) & Q(strength__lte=1) & Q(source_photo__isnull=False)),
                name="job_mode_strength_source",
            ),
            models.CheckConstraint(condition=~Q(status="succeeded") | ~Q(output=""), name="job_succeeded_has_output"),
        ]
        indexes = [
            models.Index(fields=["experiment", "run_name"]),
            models.Index(fields=["status", "decision", "finished_at"], name="job_review_queue_idx"),
            models.Index(fields=["decision", "-created_at"], name="job_decision_recent_idx"),
        ]
        permissions = [("rerun_generationjob", "Can re-run a job with its identical seed")]

    def __str__(self) -> str:
        label = self.run_name or f"{self.mode} job"
        return f"#{self.pk} {label} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("generation:job_detail", kwargs={"pk": self.pk})

    @property
    def is_finished(self) -> bool:
        return self.status in {Status.SUCCEEDED, Status.FAILED, Status.CANCELED}

    @property
    def progress_fraction(self) -> float:
        if self.status == Status.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_step / self.progress_total)

    def parameters(self) -> dict:
        """The full parameter set that reproduces this image (the same keys as diffusers' call)."""
        params = {
            "mode": self.mode,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale,
            "scheduler": self.scheduler,
            "width": self.width,
            "height": self.height,
            "model": self.model_id or "embedded",
        }
        if self.mode == Mode.IMG2IMG:
            params["strength"] = self.strength
            params["source_photo_sha256"] = self.source_photo.sha256 if self.source_photo_id else None
        return params
