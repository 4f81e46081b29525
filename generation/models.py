from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from generation import modes
from generation import parameters as P

Scheduler = models.TextChoices("Scheduler", [(slug.upper(), (slug, info.label)) for slug, info in P.SCHEDULERS.items()])


# The values of choice parameters as pages show them (the stored value stays the English word).
CHOICE_WORDS = {"pad": gettext_lazy("pad"), "crop": gettext_lazy("crop"), "stretch": gettext_lazy("stretch"),
                "matte": gettext_lazy("matte"), "feather": gettext_lazy("feather"), "contact": gettext_lazy("contact"),
                "keep": gettext_lazy("keep"), "none": gettext_lazy("none"), "base": gettext_lazy("base"),
                "centre": gettext_lazy("centre")}


def range_check(name: str) -> Q:
    """The database's copy of a parameter's limits."""
    p = P.BY_NAME[name]
    low = Q(**{f"{name}__gt" if p.exclusive_minimum else f"{name}__gte": p.minimum})
    return low & Q(**{f"{name}__lte": p.maximum})


def per_mode_range_check(name: str) -> Q:
    """A per-mode parameter: within its limits, or blank (the modes that do not use it; validation says which)."""
    return range_check(name) | Q(**{f"{name}__isnull": True})


class Status(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    SUCCEEDED = "succeeded", gettext_lazy("Succeeded")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELED = "canceled", gettext_lazy("Canceled")


class Decision(models.TextChoices):
    """A reviewer's decision on an output (evaluation keeps their audit trail; the job keeps the current one)."""

    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")


class RerunResult(models.TextChoices):
    IDENTICAL = "identical", gettext_lazy("Identical pixels")
    DRIFTED = "drifted", gettext_lazy("Drifted")


class Experiment(models.Model):
    """A named set of jobs compared side by side (the brief's controlled study, or any sweep)."""

    name = models.CharField(gettext_lazy("name"), max_length=200, unique=True)
    kind = models.CharField(gettext_lazy("kind"), max_length=32, default="sweep",
                            help_text=gettext_lazy("study for the brief's controlled study, sweep otherwise."))
    description = models.TextField(gettext_lazy("description"), blank=True)
    product = models.ForeignKey("catalog.Product", verbose_name=gettext_lazy("product"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="experiments")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("experiment")
        verbose_name_plural = gettext_lazy("experiments")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("experiments:experiment_detail", kwargs={"pk": self.pk})


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("active")
    PAUSED = "paused", gettext_lazy("paused")
    CANCELED = "canceled", gettext_lazy("canceled")


class Campaign(models.Model):
    """One recipe for many products and channel formats (generation.campaigns): its jobs, reviewed and exported as a set."""

    name = models.CharField(gettext_lazy("name"), max_length=200, unique=True)
    mode = models.CharField(gettext_lazy("mode"), max_length=32, choices=modes.choices)
    prompt_template = models.TextField(gettext_lazy("prompt template"),
                                       help_text=gettext_lazy("The prompt, with product fields: {name}, {vendor}, {type}, {category}, {sku}."))
    negative_prompt = models.TextField(gettext_lazy("negative prompt"), blank=True)
    parameters = models.JSONField(gettext_lazy("parameters"), default=dict, blank=True,
                                  help_text=gettext_lazy("The other job parameters (steps, guidance, scheduler, ...)."))
    seeds_per_item = models.PositiveSmallIntegerField(gettext_lazy("seeds per item"), default=1,
                                                      help_text=gettext_lazy("Candidates per product and format."))
    base_seed = models.BigIntegerField(gettext_lazy("base seed"), default=0,
                                       help_text=gettext_lazy("Candidate n of every item has the seed base_seed + n."))
    selection = models.JSONField(gettext_lazy("selection"), default=dict, blank=True,
                                 help_text=gettext_lazy("How the products were chosen (filters or SKUs)."))
    formats = models.JSONField(gettext_lazy("formats"), default=list,
                               help_text=gettext_lazy("Channel formats: name, label, width, height, product_scale."))
    alt_template = models.CharField(gettext_lazy("alt template"), max_length=300, blank=True,
                                    help_text=gettext_lazy("Alt text of exported images: {name}, {format}, ..."))
    model_id = models.CharField(gettext_lazy("model id"), max_length=200, blank=True)
    status = models.CharField(gettext_lazy("status"), max_length=16, choices=CampaignStatus.choices,
                              default=CampaignStatus.ACTIVE)
    skipped = models.JSONField(gettext_lazy("skipped"), default=list, blank=True,
                               help_text=gettext_lazy("Products left out, with why: [[sku, reason], ...]."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("campaign")
        verbose_name_plural = gettext_lazy("campaigns")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:campaign_detail", kwargs={"pk": self.pk})

    def format_names(self) -> list[str]:
        return [f["name"] for f in self.formats]


class GenerationJob(models.Model):
    # What to make (named as diffusers names its call arguments).
    # Defaults and limits come from generation.parameters.
    mode = models.CharField(gettext_lazy("mode"), max_length=16, choices=modes.choices, default=P.BY_NAME["mode"].default)
    prompt = models.TextField(gettext_lazy("prompt"))
    negative_prompt = models.TextField(gettext_lazy("negative prompt"), blank=True)
    seed = models.BigIntegerField(gettext_lazy("seed"))
    num_inference_steps = models.PositiveIntegerField(gettext_lazy("num inference steps"),
                                                      default=P.BY_NAME["num_inference_steps"].default)
    guidance_scale = models.FloatField(gettext_lazy("guidance scale"), default=P.BY_NAME["guidance_scale"].default)
    scheduler = models.CharField(gettext_lazy("scheduler"), max_length=16, choices=Scheduler.choices,
                                 default=P.BY_NAME["scheduler"].default)
    speed = models.CharField(gettext_lazy("speed"), max_length=8, choices=[(k, gettext_lazy(v)) for k, v in P.SPEEDS.items()],
                             default=P.BY_NAME["speed"].default)
    width = models.PositiveIntegerField(gettext_lazy("width"), default=P.BY_NAME["width"].default)
    height = models.PositiveIntegerField(gettext_lazy("height"), default=P.BY_NAME["height"].default)
    strength = models.FloatField(gettext_lazy("strength"), null=True, blank=True, help_text=gettext_lazy("img2img only: 0 < strength <= 1."))
    fit = models.CharField(gettext_lazy("fit"), max_length=8, blank=True,
                           help_text=gettext_lazy("img2img: how the photo fills the canvas (pad, crop, stretch)."))
    product_scale = models.FloatField(gettext_lazy("product scale"), null=True, blank=True,
                                      help_text=gettext_lazy("scene only: the product's longer side / the canvas."))
    product_x = models.FloatField(gettext_lazy("product x"), null=True, blank=True,
                                  help_text=gettext_lazy("scene only: the product's centre, 0 = left, 1 = right."))
    product_y = models.FloatField(gettext_lazy("product y"), null=True, blank=True,
                                  help_text=gettext_lazy("scene only: where the product stands (its base) or its centre, by its anchor; 0 = top, 1 = bottom."))
    product_anchor = models.CharField(gettext_lazy("product anchor"), max_length=8, blank=True,
                                      help_text=gettext_lazy("scene: what product y places (base, centre)."))
    edges = models.CharField(gettext_lazy("edges"), max_length=8, blank=True,
                             help_text=gettext_lazy("scene: the product's edge (matte, feather)."))
    shadow = models.CharField(gettext_lazy("shadow"), max_length=8, blank=True,
                              help_text=gettext_lazy("scene: the product's shadow (contact, keep, none)."))
    shadow_opacity = models.FloatField(gettext_lazy("shadow opacity"), null=True, blank=True,
                                       help_text=gettext_lazy("scene, contact shadow: its darkest, 0-1."))
    shadow_softness = models.FloatField(gettext_lazy("shadow softness"), null=True, blank=True,
                                        help_text=gettext_lazy("scene, contact shadow: blur, share of the product's height."))
    light = models.FloatField(gettext_lazy("light"), null=True, blank=True,
                              help_text=gettext_lazy("scene, contact shadow: -1 light from the left, 1 from the right."))
    controlnet_conditioning_scale = models.FloatField(gettext_lazy("controlnet conditioning scale"), null=True, blank=True,
                                                      help_text=gettext_lazy("Edge guidance (ControlNet canny); blank = off."))
    model_id = models.CharField(gettext_lazy("model id"), max_length=500, blank=True,
                                help_text=gettext_lazy("The model asked for; blank = the embedded model."))

    # What it belongs to.
    product = models.ForeignKey("catalog.Product", verbose_name=gettext_lazy("product"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="jobs")
    source_photo = models.ForeignKey("catalog.ProductPhoto", verbose_name=gettext_lazy("source photo"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="jobs")
    experiment = models.ForeignKey(Experiment, verbose_name=gettext_lazy("experiment"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="jobs")
    campaign = models.ForeignKey(Campaign, verbose_name=gettext_lazy("campaign"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="jobs")
    campaign_format = models.CharField(gettext_lazy("campaign format"), max_length=32, blank=True,
                                       help_text=gettext_lazy("The campaign's channel format this job is for."))
    run_name = models.CharField(gettext_lazy("run name"), max_length=100, blank=True, help_text=gettext_lazy("e.g. t2i_run01_baseline"))
    mask = models.ImageField(gettext_lazy("mask"), upload_to="masks/", blank=True,
                             help_text=gettext_lazy("scene: the product's mask on the source photo (255 = kept), frozen when the job is made."))
    rerun_of = models.ForeignKey("self", verbose_name=gettext_lazy("rerun of"), null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reruns")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="generation_jobs")

    # Where it is.
    status = models.CharField(gettext_lazy("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(gettext_lazy("attempts"), default=0)
    rq_job_id = models.CharField(gettext_lazy("rq job id"), max_length=100, blank=True)
    cancel_requested = models.BooleanField(gettext_lazy("cancel requested"), default=False)
    progress_step = models.PositiveIntegerField(gettext_lazy("progress step"), default=0)
    progress_total = models.PositiveIntegerField(gettext_lazy("progress total"), default=0)
    worker_name = models.CharField(gettext_lazy("worker name"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(gettext_lazy("heartbeat at"), null=True, blank=True)
    error = models.TextField(gettext_lazy("error"), blank=True)

    # What came out.
    output = models.ImageField(gettext_lazy("output"), upload_to="outputs/", blank=True)
    thumbnail = models.ImageField(gettext_lazy("thumbnail"), upload_to="thumbs/", blank=True,
                                  help_text=gettext_lazy("256 px preview, made once when the job succeeds."))
    output_sha256 = models.CharField(gettext_lazy("output sha256"), max_length=64, blank=True,
                                     help_text=gettext_lazy("SHA-256 of the decoded RGB pixels."))
    environment = models.JSONField(gettext_lazy("environment"), default=dict, blank=True)
    started_at = models.DateTimeField(gettext_lazy("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(gettext_lazy("finished at"), null=True, blank=True)
    queue_wait_seconds = models.FloatField(gettext_lazy("queue wait seconds"), null=True, blank=True)
    load_seconds = models.FloatField(gettext_lazy("load seconds"), null=True, blank=True)
    inference_seconds = models.FloatField(gettext_lazy("inference seconds"), null=True, blank=True)
    # When the worker's pipeline call began and ended: the gap to the next job's start is the GPU's idle time.
    pipeline_started_at = models.DateTimeField(gettext_lazy("pipeline started at"), null=True, blank=True)
    pipeline_finished_at = models.DateTimeField(gettext_lazy("pipeline finished at"), null=True, blank=True)
    seconds_per_step = models.FloatField(gettext_lazy("seconds per step"), null=True, blank=True)
    fidelity_ssim = models.FloatField(gettext_lazy("fidelity ssim"), null=True, blank=True,
                                      help_text=gettext_lazy("img2img: SSIM of output vs source (1 = same)."))
    fidelity_phash_distance = models.PositiveIntegerField(gettext_lazy("fidelity phash distance"), null=True, blank=True,
                                                          help_text=gettext_lazy("img2img: perceptual-hash Hamming distance to source (0 = same)."))
    product_max_pixel_diff = models.PositiveIntegerField(gettext_lazy("product max pixel diff"), null=True, blank=True,
                                                         help_text=gettext_lazy("scene: largest difference inside the mask (0 = the photo's pixels)."))
    # What a mode that keeps the product recorded about its mask when the job was made (generation.modes: admission).
    kept_share = models.FloatField(gettext_lazy("kept share"), null=True, blank=True,
                                   help_text=gettext_lazy("scene: the share of the photo the mask keeps."))
    kept_pieces = models.PositiveSmallIntegerField(gettext_lazy("kept pieces"), null=True, blank=True,
                                                   help_text=gettext_lazy("scene: separate pieces the mask keeps."))
    enlargement = models.FloatField(gettext_lazy("enlargement"), null=True, blank=True,
                                    help_text=gettext_lazy("scene: the product's size on the canvas / on the photo."))
    edge_band = models.PositiveSmallIntegerField(gettext_lazy("edge band"), null=True, blank=True,
                                                 help_text=gettext_lazy("scene: the matte's soft edge on the output, in px (0: a hard edge)."))
    mask_unsure = models.BooleanField(gettext_lazy("mask unsure"), default=False,
                                      help_text=gettext_lazy("scene: made with an automatic mask flagged unsure."))
    background_change = models.FloatField(gettext_lazy("background change"), null=True, blank=True,
                                          help_text=gettext_lazy("scene: mean grey-level change outside the mask."))
    nsfw_flagged = models.BooleanField(gettext_lazy("nsfw flagged"), null=True, blank=True,
                                       help_text=gettext_lazy("The model's safety checker flagged the output (blank = no checker ran)."))
    nsfw_score = models.FloatField(gettext_lazy("nsfw score"), null=True, blank=True,
                                   help_text=gettext_lazy("The safety checker's highest concept score; above 0 flags."))
    content_credentials = models.CharField(gettext_lazy("content credentials"), max_length=16, blank=True,
                                           help_text=gettext_lazy("Who signed the output's C2PA manifest: development or configured; blank = unsigned."))
    control_image = models.ImageField(gettext_lazy("control image"), upload_to="controls/", blank=True,
                                      help_text=gettext_lazy("Edge guidance: the Canny edge map the ControlNet saw."))
    rerun_result = models.CharField(gettext_lazy("rerun result"), max_length=16, choices=RerunResult.choices, blank=True)
    rerun_max_pixel_diff = models.PositiveIntegerField(gettext_lazy("rerun max pixel diff"), null=True, blank=True)
    rerun_psnr = models.FloatField(gettext_lazy("rerun psnr"), null=True, blank=True,
                                   help_text=gettext_lazy("dB; empty when the pixels are identical (infinite)."))
    # The current review decision, kept in step with evaluation.ReviewDecision (its audit trail) by the services.
    decision = models.CharField(gettext_lazy("decision"), max_length=16, choices=Decision.choices, blank=True, db_index=True,
                                help_text=gettext_lazy("approved / rejected; blank = waiting."))
    # The output's public address once approved (/p/<token>.png): unguessable, stable, answered 410 while not approved.
    public_token = models.CharField(gettext_lazy("public token"), max_length=64, unique=True, null=True, blank=True,
                                    editable=False)

    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("generation job")
        verbose_name_plural = gettext_lazy("generation jobs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=range_check("seed"), name="job_seed_range"),
            models.CheckConstraint(condition=range_check("num_inference_steps"), name="job_steps_range"),
            models.CheckConstraint(condition=range_check("guidance_scale"), name="job_guidance_range"),
            models.CheckConstraint(condition=range_check("width") & range_check("height"), name="job_size_range"),
            *[models.CheckConstraint(condition=per_mode_range_check(p.name), name=f"job_{p.name}_mode_range")
              for p in P.PARAMETERS if p.per_mode and p.type in (int, float)],
            models.CheckConstraint(condition=~Q(status="succeeded") | ~Q(output=""), name="job_succeeded_has_output"),
        ]
        indexes = [
            models.Index(fields=["experiment", "run_name"]),
            models.Index(fields=["campaign", "status"], name="job_campaign_status_idx"),
            # The review queue (oldest first, then id): its first page read straight from the index.
            models.Index(fields=["status", "decision", "finished_at", "id"], name="job_review_queue_idx"),
            models.Index(fields=["decision", "-created_at"], name="job_decision_recent_idx"),
        ]
        permissions = [("rerun_generationjob", gettext_lazy("Can re-run a job with its identical seed"))]

    def __str__(self) -> str:
        label = self.run_name or _("%(mode)s job") % {"mode": self.mode}
        return _("#%(pk)s %(label)s (%(status)s)") % {"pk": self.pk, "label": label, "status": self.get_status_display().lower()}

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

    @property
    def has_drifted(self) -> bool:
        """img2img: the output has likely moved away from the product in the photo."""
        from generation.fidelity import has_drifted

        return has_drifted(self.fidelity_ssim, self.fidelity_phash_distance)

    def parameter_values(self) -> dict:
        """Every job parameter (generation.parameters), None where the mode does not use it."""
        return {name: getattr(self, name) for name in P.NAMES}

    def parameter_rows(self) -> list[tuple[str, object]]:
        """(label, value) of the parameters this job's mode uses, for pages."""
        rows = [(p.shown_label, self.shown_value(p)) for p in P.PARAMETERS if modes.uses(self.mode, p.name)]
        return rows + [(_("Model"), self.model_id or _("the embedded model"))]

    def shown_value(self, p: P.Parameter):
        """A parameter's value as a page shows it: choices by their label in the active language."""
        value = getattr(self, p.name)
        if p.name in ("scheduler", "mode", "speed"):
            return getattr(self, f"get_{p.name}_display")()
        if p.optional and value is None:
            return _("off")
        if value is None:
            return "–"
        return CHOICE_WORDS.get(value, value) if p.choices else value

    def sweep_choices(self) -> list[tuple[str, str]]:
        """The parameters a sweep from this job can vary."""
        return [(name, P.BY_NAME[name].shown_label) for name in P.SWEEPABLE if modes.uses(self.mode, name)]

    def parameters(self) -> dict:
        """The full parameter set that reproduces this image (the same keys as diffusers' call), model and source included."""
        params = {p.name: getattr(self, p.name) for p in P.PARAMETERS if modes.uses(self.mode, p.name)}
        params["model"] = self.model_id or "embedded"
        if self.mode_info.uses_photo:
            params["source_photo_sha256"] = self.source_photo.sha256 if self.source_photo_id else None
        if self.mode_info.uses_mask:
            params["mask_sha256"] = self.mask_sha256
        return params

    @property
    def mask_sha256(self) -> str | None:
        """SHA-256 of the mask's file (a PNG written once when the job was made)."""
        import hashlib

        if not self.mask:
            return None
        with self.mask.open("rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    @property
    def public_path(self) -> str:
        """The path of the public link (no login), or "" for an output that was never approved."""
        return reverse("public_image", kwargs={"token": self.public_token}) if self.public_token else ""

    # An output is public (its link answers, the shop's feeds carry it) when it is approved, done and has its token.
    PUBLISHED_WHEN = {"decision": Decision.APPROVED, "status": Status.SUCCEEDED}

    @classmethod
    def published(cls) -> Q:
        return Q(**cls.PUBLISHED_WHEN, public_token__isnull=False)

    @property
    def is_public(self) -> bool:
        return bool(self.public_token) and all(getattr(self, name) == value for name, value in self.PUBLISHED_WHEN.items())

    @property
    def mode_info(self) -> modes.Mode:
        """What the job's mode is (generation.modes): its label, inputs, measures, provenance."""
        return modes.get(self.mode)

    @property
    def kept_warnings(self) -> list[str]:
        """What a reviewer should check before approving a job that keeps the product: each a sentence."""
        return self.warnings_for(mask_unsure=self.mask_unsure, kept_share=self.kept_share, kept_pieces=self.kept_pieces,
                                 enlargement=self.enlargement)

    @staticmethod
    def warnings_for(*, mask_unsure: bool, kept_share: float | None, kept_pieces: int | None,
                     enlargement: float | None) -> list[str]:
        """``kept_warnings`` from the four fields alone (a page that reads them with .values())."""
        from generation.scene import ENLARGEMENT_WARN

        warnings = []
        if mask_unsure:
            warnings.append(_("its automatic mask was flagged unsure: check that the kept region is the whole product"))
        if kept_share is not None and kept_share < 0.03:
            warnings.append(_("the mask keeps only %(share)s of the photo: it may be a fragment of the product")
                            % {"share": f"{kept_share:.1%}"})
        if kept_pieces is not None and kept_pieces > 3:
            warnings.append(_("the mask keeps %(pieces)s separate pieces") % {"pieces": kept_pieces})
        if enlargement is not None and enlargement > ENLARGEMENT_WARN:
            warnings.append(_("the product is shown %(times).1f times its size on the photo: look for blur and blocks")
                            % {"times": enlargement})
        return warnings

    @property
    def kept_summary(self) -> str:
        """What the scene kept, in words ("38% of the photo, 1 piece, shown at 1.2x")."""
        if self.kept_share is None:
            return ""
        pieces = ngettext("%(count)s piece", "%(count)s pieces", self.kept_pieces) % {"count": self.kept_pieces}
        share = f"{self.kept_share:.1%}" if self.kept_share < 0.1 else f"{self.kept_share:.0%}"
        summary = _("%(share)s of the photo, %(pieces)s, shown at %(times).1fx its size on the photo") % {
            "share": share, "pieces": pieces, "times": self.enlargement}
        if self.edge_band:
            summary += _("; edges blended over %(band)s px") % {"band": self.edge_band}
        shadow = {"contact": _("a contact shadow"), "keep": _("the photo's own shadow"), "none": _("no shadow")}.get(self.shadow)
        return summary + (f"; {shadow}" if shadow else "")

    @property
    def keeps_product_pixels(self) -> bool:
        """A mode that keeps the product (scene): every pixel inside the mask is the photo's own."""
        return self.mode_info.uses_mask and self.product_max_pixel_diff == 0
