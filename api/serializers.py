"""What the API reads and writes; job parameters come from generation.parameters, like the form and the CLI."""
from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from rest_framework import serializers

from catalog.models import Product, ProductPhoto, ProductVariant
from generation import parameters as P
from generation import modes
from generation.models import Decision, GenerationJob


def absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


class VariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductVariant
        fields = ["sku", "barcode", "options", "position"]


class PhotoSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField(help_text=gettext_lazy("The stored photo (PNG), for this API's clients."))
    mask_unsure = serializers.BooleanField(read_only=True, help_text=gettext_lazy("The automatic mask may have missed the product: send a box (POST /api/photos/{id}/mask/)."))

    class Meta:
        model = ProductPhoto
        fields = ["id", "width", "height", "sha256", "original_name", "mask_source", "mask_confidence", "mask_unsure",
                  "declared_source_type", "declared_by", "created_at", "image_url"]

    def get_image_url(self, photo) -> str:
        return absolute(self.context.get("request"), reverse("api:photo-image", kwargs={"pk": photo.pk}))


class ProductSerializer(serializers.ModelSerializer):
    variants = VariantSerializer(many=True, read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "description", "category", "handle", "vendor", "product_type", "tags", "shop_status",
                  "variants", "photos", "created_at", "updated_at"]
        read_only_fields = ["handle", "vendor", "product_type", "tags", "shop_status", "created_at", "updated_at"]
        extra_kwargs = {"sku": {"validators": []}}  # the service checks SKUs (format and uniqueness) with its own sentences


def _parameter_field(p: P.Parameter) -> serializers.Field:
    common = {"required": p.name == "prompt", "help_text": p.help or p.label}
    if p.name == "mode":
        return serializers.ChoiceField(choices=modes.choices(), **common)
    if p.choices:
        return serializers.ChoiceField(choices=list(p.choices), **common)
    if p.type is str:
        return serializers.CharField(allow_blank=p.name != "prompt", max_length=P.PROMPT_MAX, **common)
    limits = {"min_value": p.minimum, "max_value": p.maximum}
    if p.type is int:
        return serializers.IntegerField(allow_null=True, **limits, **common)
    return serializers.FloatField(allow_null=True, **limits, **common)


class JobCreateSerializer(serializers.Serializer):
    """A new job: any parameter of generation.parameters (defaults as on the form), the product and its photo."""

    product = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all(), required=False, allow_null=True)
    source_photo = serializers.PrimaryKeyRelatedField(queryset=ProductPhoto.objects.all(), required=False, allow_null=True,
                                                      help_text=gettext_lazy("img2img and scene: one of the product's photos."))
    mask = serializers.ImageField(required=False, help_text=gettext_lazy("scene: a PNG at the photo's size, white = the product (default: the photo's own mask)."))
    model = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                  help_text="The model to run on (default: the configured one); the job waits for a worker "
                                            "serving it.")

    def get_fields(self):
        fields = super().get_fields()
        for p in P.PARAMETERS:
            fields[p.name] = _parameter_field(p)
        return fields

    def validate(self, data):
        photo, product = data.get("source_photo"), data.get("product")
        if photo is not None and product is not None and photo.product_id != product.pk:
            raise serializers.ValidationError({"source_photo": gettext("Photo #%(pk)s is not a photo of %(sku)s.")
                                                               % {"pk": photo.pk, "sku": product.sku}})
        return data


class JobSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="sku", read_only=True)
    progress = serializers.SerializerMethodField()
    output_url = serializers.SerializerMethodField(help_text=gettext_lazy("The PNG (with its Content Credentials), once succeeded."))
    public_url = serializers.SerializerMethodField(help_text=gettext_lazy("The public link of an approved output (no login)."))
    kept_warnings = serializers.ListField(child=serializers.CharField(), read_only=True,
                                          help_text=gettext_lazy("A scene: what to check on the kept region before approving."))

    class Meta:
        model = GenerationJob
        fields = ["id", *P.NAMES, "model_id", "product", "source_photo", "experiment", "campaign", "campaign_format", "run_name", "rerun_of", "status",
                  "progress", "error", "attempts", "output_url", "output_sha256", "content_credentials", "decision",
                  "public_url", "fidelity_ssim", "fidelity_phash_distance", "product_max_pixel_diff", "background_change",
                  "kept_share", "kept_pieces", "enlargement", "mask_unsure", "kept_warnings",
                  "rerun_result", "nsfw_flagged", "nsfw_score", "inference_seconds", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_progress(self, job) -> dict:
        return {"step": job.progress_step, "total": job.progress_total, "fraction": round(job.progress_fraction, 4)}

    def get_output_url(self, job) -> str | None:
        return absolute(self.context.get("request"), reverse("api:job-output", kwargs={"pk": job.pk})) if job.output else None

    def get_public_url(self, job) -> str | None:
        return absolute(self.context.get("request"), job.public_path) if job.is_public else None


class EvaluationSerializer(serializers.Serializer):
    """The brief's rubric: five criteria scored 0, 1 or 2 (evaluation.models.RUBRIC), and the justification."""

    justification = serializers.CharField(allow_blank=True, required=False, max_length=5000)

    def get_fields(self):
        from evaluation.models import RUBRIC

        fields = super().get_fields()
        for name, label, help_text in RUBRIC:
            fields[name] = serializers.IntegerField(min_value=0, max_value=2, help_text=f"{label}: {help_text}")
        return fields


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(allow_blank=True, required=False, max_length=2000)
    confirm = serializers.BooleanField(required=False, default=False,
                                       help_text=gettext_lazy("A scene with warnings on what it kept (kept_warnings) is approved only with true."))


class CampaignSerializer(serializers.Serializer):
    """A campaign: its recipe, selection, formats and where it stands (generation.campaigns)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    mode = serializers.CharField()
    prompt_template = serializers.CharField()
    negative_prompt = serializers.CharField(required=False, allow_blank=True, default="")
    parameters = serializers.DictField(required=False, default=dict, help_text=gettext_lazy("Other job parameters: steps, guidance, ..."))
    seeds_per_item = serializers.IntegerField(required=False, default=1)
    base_seed = serializers.IntegerField(required=False, allow_null=True, default=None)
    selection = serializers.DictField(help_text='{"skus": [...]} or filters: category, product_type, vendor, tag; {"all": true}.')
    formats = serializers.ListField(child=serializers.JSONField(), help_text='Names (square, portrait, landscape) or '
                                                                          '{"name", "width", "height", "product_scale"}.')
    alt_template = serializers.CharField(required=False, allow_blank=True, default="{name}, {format}")
    status = serializers.CharField(read_only=True)
    skipped = serializers.JSONField(read_only=True)
    progress = serializers.SerializerMethodField()

    def get_progress(self, campaign) -> dict:
        from generation import campaigns

        # a list passes every campaign's progress at once (campaigns.progress_of): no queries per row
        progress = self.context.get("progress", {}).get(campaign.pk) or campaigns.progress(campaign)
        return {key: progress[key] for key in ("total", "finished", "by_status", "items", "approved_items", "missing_items")}
