from __future__ import annotations

from django import forms

from catalog.models import Product, ProductPhoto
from generation.models import Mode, Scheduler
from generation.services import GUIDANCE_MAX, SIZE_MAX, SIZE_MIN, STEPS_MAX

# The brief's baseline (exercise 2.b): 512x512, 30 steps, guidance 7.5, Euler ancestral, seed 42.
BASELINE = {"num_inference_steps": 30, "guidance_scale": 7.5, "scheduler": Scheduler.EULER_A, "width": 512, "height": 512, "seed": 42}


class JobForm(forms.Form):
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.TEXT2IMG, widget=forms.RadioSelect)
    product = forms.ModelChoiceField(queryset=Product.objects.all(), required=False, to_field_name="sku", empty_label="(no product)")
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    negative_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**32 - 1, help_text="Blank: a random seed, stored with the job.")
    num_inference_steps = forms.IntegerField(label="Steps", min_value=1, max_value=STEPS_MAX, initial=30)
    guidance_scale = forms.FloatField(label="Guidance (CFG)", min_value=0, max_value=GUIDANCE_MAX, initial=7.5)
    scheduler = forms.ChoiceField(choices=Scheduler.choices, initial=Scheduler.EULER_A)
    width = forms.IntegerField(min_value=SIZE_MIN, max_value=SIZE_MAX, initial=512, widget=forms.NumberInput(attrs={"step": 8}))
    height = forms.IntegerField(min_value=SIZE_MIN, max_value=SIZE_MAX, initial=512, widget=forms.NumberInput(attrs={"step": 8}))
    source_photo = forms.ModelChoiceField(queryset=ProductPhoto.objects.none(), required=False, help_text="img2img: one of the product's photos…")
    upload = forms.ImageField(required=False, label="…or upload a photo", help_text="JPEG, PNG or WebP; added to the product.")
    strength = forms.FloatField(required=False, min_value=0.01, max_value=1.0, initial=0.6, help_text="img2img: 0.35 keeps the product, 0.85 reinvents it.")
    variants = forms.IntegerField(min_value=1, max_value=8, initial=1, help_text="N jobs with consecutive seeds.")

    def __init__(self, *args, product: Product | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        sku = self.data.get("product") if self.is_bound else (product.sku if product else None)
        photos = ProductPhoto.objects.select_related("product")
        self.fields["source_photo"].queryset = photos.filter(product__sku=sku) if sku else photos.none()
        if product is not None:
            self.initial.setdefault("product", product.sku)

    def clean(self):
        data = super().clean()
        for name in ("width", "height"):
            value = data.get(name)
            if value and value % 8:
                self.add_error(name, f"{value} is not a multiple of 8; try {value - value % 8} or {value - value % 8 + 8}.")
        if data.get("mode") == Mode.IMG2IMG:
            if not data.get("source_photo") and not data.get("upload"):
                self.add_error("source_photo", "Image to image needs a source photo: pick one or upload one.")
            if data.get("upload") and not data.get("product"):
                self.add_error("product", "Choose the product the uploaded photo belongs to.")
            if data.get("strength") is None:
                self.add_error("strength", "Image to image needs a strength (0.35 to 0.85 in the brief).")
        else:
            data["strength"] = None
        return data
