from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from catalog.models import Product


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "description", "category"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PhotoUploadForm(forms.Form):
    # A FileField, not an ImageField: the intake service decides what an image is, with its own messages.
    photo = forms.FileField(help_text=gettext_lazy("JPEG, PNG, WebP or HEIC (phones), up to 40 megapixels."))
