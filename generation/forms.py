from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from catalog.models import Product, ProductPhoto
from generation import modes
from generation import parameters as P
from generation.models import CHOICE_WORDS, Scheduler

BASELINE = P.BASELINE
CHOICES = {"mode": modes.choices, "scheduler": Scheduler.choices, "speed": [(k, gettext_lazy(v)) for k, v in P.SPEEDS.items()]}
# The values of the other choice parameters, in the active language (generation.models.CHOICE_WORDS).


def parameter_field(p: P.Parameter) -> forms.Field:
    """The form field of a job parameter: its label, help, default and limits (the services check them again)."""
    common = dict(label=gettext_lazy(p.label), help_text=gettext_lazy(p.help) if p.help else "", initial=p.default, required=p.name in ("mode", "prompt") or
                  (p.type is not str and p.default is not None and not p.per_mode))
    if p.name == "mode":
        return forms.ChoiceField(choices=CHOICES["mode"], widget=forms.RadioSelect, **common)
    if p.choices:
        return forms.ChoiceField(choices=CHOICES.get(p.name) or [(c, CHOICE_WORDS.get(c, c)) for c in p.choices], **common)
    if p.type is str:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3 if p.name == "prompt" else 2}), max_length=P.PROMPT_MAX, **common)
    limits = {"min_value": p.minimum, "max_value": p.maximum}
    if p.type is int:
        widget = forms.NumberInput(attrs={"step": p.multiple_of}) if p.multiple_of else None
        return forms.IntegerField(widget=widget, **limits, **common)
    return forms.FloatField(**limits, **common)


def model_choices() -> list[tuple[str, str]]:
    """The configured model first (its jobs go to the default queue), then every other model a live worker serves."""
    from redis.exceptions import RedisError

    from generation import modelinfo, services

    default = modelinfo.requested_model_id()
    choices = [("", _("%(model)s (configured)") % {"model": modelinfo.model_label()})]
    try:
        served, starting = services.served_models(), services.starting_models()
    except RedisError:
        served, starting = {}, {}
    for model_id in sorted(set(served) | set(starting)):
        if model_id and model_id != default:
            parts = [ngettext("%(count)s worker", "%(count)s workers", n) % {"count": n} for n in (served.get(model_id, 0),) if n]
            parts += [ngettext("%(count)s worker starting", "%(count)s workers starting", n) % {"count": n}
                      for n in (starting.get(model_id, 0),) if n]
            choices.append((model_id, f"{model_id} ({', '.join(parts)})"))
    return choices


class PhotoChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, photo) -> str:
        return photo.choice_label


class JobForm(forms.Form):
    # A search-as-you-type field (static/js/job_form.js asks /catalog/search.json), not a select of every product.
    product = forms.ModelChoiceField(
        queryset=Product.objects.all(), required=False, to_field_name="sku",
        widget=forms.TextInput(attrs={"list": "product-options", "autocomplete": "off", "placeholder": gettext_lazy("type a SKU or a name")}),
        label=gettext_lazy("Product"),
        error_messages={"invalid_choice": gettext_lazy("No product has the SKU %(value)s: pick one from the suggestions.")},
        help_text=gettext_lazy("The product the job is for (its photos appear under Source photo): optional for text2img, "
                               "needed for img2img and scene."))
    source_photo = PhotoChoiceField(queryset=ProductPhoto.objects.none(), required=False, label=gettext_lazy("Source photo"),
                                    help_text=gettext_lazy("img2img and scene: one of the product's photos…"))
    # A plain file field: the photo intake (catalog.intake) decides, with its own sentences, like the product page's upload.
    upload = forms.FileField(required=False, label=gettext_lazy("…or upload a photo"),
                             help_text=gettext_lazy("JPEG, PNG, WebP or HEIC; added to the product."))
    model = forms.ChoiceField(required=False, label=gettext_lazy("Model"),
                              help_text=gettext_lazy("The configured model, or another one a running worker serves."))
    variants = forms.IntegerField(min_value=1, max_value=P.JOBS_PER_REQUEST_MAX, initial=1, label=gettext_lazy("Variants"),
                                  help_text=gettext_lazy("N jobs with consecutive seeds."))
    FIELD_ORDER = ["mode", "model", "product", "prompt", "negative_prompt", "seed", "num_inference_steps", "guidance_scale",
                   "scheduler", "width", "height", "source_photo", "upload", "strength", "fit", "product_scale", "product_x",
                   "product_y", "product_anchor", "edges", "shadow", "shadow_opacity", "shadow_softness", "light", "controlnet_conditioning_scale", "variants"]

    def __init__(self, *args, product: Product | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for p in P.PARAMETERS:
            self.fields[p.name] = parameter_field(p)
        self.order_fields(self.FIELD_ORDER)
        self.fields["model"].choices = model_choices()
        # The page shows a field only for the modes that use it (static/js/job_form.js reads data-modes).
        with_photo = modes.with_photo()
        for name, field in self.fields.items():
            used_by = modes.using(name) if name in P.BY_NAME and P.BY_NAME[name].per_mode else with_photo if name in ("source_photo", "upload") else None
            if used_by is not None:
                field.widget.attrs["data-modes"] = " ".join(sorted(used_by))
        # The modes that start from one of the product's photos: the page marks Product required for them.
        self.fields["product"].widget.attrs["data-required-modes"] = " ".join(sorted(with_photo))
        sku = self.data.get("product") if self.is_bound else (product.sku if product else None)
        photos = ProductPhoto.objects.select_related("product")
        self.fields["source_photo"].queryset = photos.filter(product__sku=sku) if sku else photos.none()
        if product is not None:
            self.initial.setdefault("product", product.sku)

    @property
    def model_words(self) -> dict[str, list[str]] | None:
        """On the embedded model, the words it draws (it was trained on a small caption grammar); None on SD v1.5."""
        from generation import modelinfo, vocabulary

        return vocabulary.vocabulary_summary() if modelinfo.is_embedded() else None

    @property
    def photo_modes(self) -> str:
        """The modes that start from a photo, as the page's data-modes names them (the preview is shown for them)."""
        return " ".join(sorted(modes.with_photo()))

    def clean(self):
        data = super().clean()
        for p in P.PARAMETERS:
            value, step = data.get(p.name), p.multiple_of
            if step and value and value % step:
                self.add_error(p.name, _("%(value)s is not a multiple of %(step)s; try %(lower)s or %(upper)s.") % {
                    "value": value, "step": step, "lower": value - value % step, "upper": value - value % step + step})
        mode = data.get("mode")
        if not mode:
            return data
        if modes.get(mode).uses_photo:
            if not data.get("source_photo") and not data.get("upload"):
                self.add_error("source_photo", _("%(mode)s needs a source photo: pick one or upload one.")
                                               % {"mode": _(modes.get(mode).label)})
            if data.get("upload") and not data.get("product"):
                self.add_error("product", _("Choose the product the uploaded photo belongs to."))
        # Parameters the chosen mode does not use are dropped, not refused (the form shows them all); the ones it
        # needs are checked by the services (generation.modes.validate), whose sentences the view shows on the fields.
        for p in P.PARAMETERS:
            if not modes.uses(mode, p.name):
                data[p.name] = None
        return data
