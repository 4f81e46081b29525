from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy

# A SKU is part of the product's URLs: letters, digits, ".", "_" and "-", starting with a letter or digit,
# and none of the words the catalog's own URLs use.
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED_SKUS = {"new", "feed.csv", "shop", "search.json"}


def validate_sku(value: str) -> None:
    if not SKU_PATTERN.match(value or ""):
        raise ValidationError(
            gettext("SKU “%(value)s” is not usable: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
                    "or digit (for example AB-1234).") % {"value": value[:80]}, code="invalid_sku")
    if value.lower() in RESERVED_SKUS:
        raise ValidationError(gettext("SKU “%(value)s” is reserved by the catalog's pages; choose another.") % {"value": value}, code="reserved_sku")


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True, validators=[validate_sku])
    name = models.CharField(max_length=200, verbose_name=gettext_lazy("name"))
    description = models.TextField(blank=True, verbose_name=gettext_lazy("description"))
    category = models.CharField(max_length=100, blank=True, db_index=True, verbose_name=gettext_lazy("category"))
    # From the shop (a Shopify product CSV): its handle, vendor, type, tags and status, kept for the way back.
    handle = models.CharField(max_length=255, blank=True, db_index=True, help_text="The shop's handle (Shopify); blank = the SKU.", verbose_name=gettext_lazy("handle"))
    vendor = models.CharField(max_length=255, blank=True, verbose_name=gettext_lazy("vendor"))
    product_type = models.CharField(max_length=255, blank=True, verbose_name=gettext_lazy("product type"))
    tags = models.CharField(max_length=1000, blank=True, verbose_name=gettext_lazy("tags"))
    shop_status = models.CharField(max_length=16, blank=True, help_text="active, draft or archived in the shop.", verbose_name=gettext_lazy("shop status"))
    shop_image_count = models.PositiveIntegerField(default=0, help_text=gettext_lazy("Images the shop already has: exported images come after them."), verbose_name=gettext_lazy("shop image count"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    , verbose_name=gettext_lazy("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("product")
        verbose_name_plural = gettext_lazy("products")
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"sku": self.sku})

    @property
    def shop_handle(self) -> str:
        return self.handle or self.sku.lower()


class ProductVariant(models.Model):
    """A shop variant (size, colour...): its SKU and barcode, as the shop knows them."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants", verbose_name=gettext_lazy("product"))
    sku = models.CharField("SKU", max_length=255, blank=True)
    barcode = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("barcode"))
    options = models.JSONField(default=dict, blank=True, help_text=gettext_lazy('Option name -> value, e.g. {"Color": "Black"}.'), verbose_name=gettext_lazy("options"))
    position = models.PositiveIntegerField(default=1, verbose_name=gettext_lazy("position"))

    class Meta:
        verbose_name = gettext_lazy("product variant")
        verbose_name_plural = gettext_lazy("product variants")
        ordering = ["product", "position", "id"]

    def __str__(self) -> str:
        return self.sku or gettext("variant %(position)s of %(sku)s") % {"position": self.position, "sku": self.product.sku}


class ShopImport(models.Model):
    """A Shopify CSV imported in the background by the shop worker (it fetches images), with its progress and report."""

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Running")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")

    file = models.FileField(upload_to="imports/", verbose_name=gettext_lazy("file"))
    original_name = models.CharField(max_length=255, blank=True, verbose_name=gettext_lazy("original name"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=gettext_lazy("status"))
    total = models.PositiveIntegerField(default=0, help_text=gettext_lazy("Products in the file."), verbose_name=gettext_lazy("total"))
    done = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("done"))
    report = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("report"))
    error = models.TextField(blank=True, verbose_name=gettext_lazy("error"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=gettext_lazy("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("finished at"))

    class Meta:
        verbose_name = gettext_lazy("shop import")
        verbose_name_plural = gettext_lazy("shop imports")
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def get_absolute_url(self) -> str:
        return reverse("catalog:shop_import", kwargs={"pk": self.pk})


class FeedToken(models.Model):
    """A secret in the Merchant Center feed's URL, so the shop can fetch it on a schedule without a login."""

    token = models.CharField(max_length=64, unique=True, verbose_name=gettext_lazy("token"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=gettext_lazy("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("revoked at"))

    class Meta:
        verbose_name = gettext_lazy("feed token")
        verbose_name_plural = gettext_lazy("feed tokens")
        ordering = ["-created_at"]


class MaskSource(models.TextChoices):
    ALPHA = "alpha", gettext_lazy("the cut-out's transparency")
    AUTOMATIC = "automatic", gettext_lazy("found automatically")
    DRAWN = "drawn", gettext_lazy("drawn by hand")
    HINTED = "hinted", gettext_lazy("found from a box and points")
    LEARNED = "learned", gettext_lazy("found by the learned segmenter")


def photo_upload_to(instance: "ProductPhoto", filename: str) -> str:
    # The name is generated by the intake service; only the folder is decided here.
    return f"photos/{filename}"


class ProductPhoto(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos", verbose_name=gettext_lazy("product"))
    image = models.ImageField(upload_to=photo_upload_to, verbose_name=gettext_lazy("image"))
    thumbnail = models.ImageField(upload_to="thumbs/", blank=True, verbose_name=gettext_lazy("thumbnail"))
    width = models.PositiveIntegerField(verbose_name=gettext_lazy("width"))
    height = models.PositiveIntegerField(verbose_name=gettext_lazy("height"))
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the decoded RGB pixels.", verbose_name=gettext_lazy("sha256"))
    original_name = models.CharField(max_length=255, blank=True, verbose_name=gettext_lazy("original name"))
    original_format = models.CharField(max_length=16, blank=True, verbose_name=gettext_lazy("original format"))
    # Scene jobs keep the product's pixels through this mask (255 = product): a cut-out's alpha, drawn, or automatic.
    mask = models.ImageField(upload_to="masks/", blank=True, verbose_name=gettext_lazy("mask"))
    mask_source = models.CharField(max_length=16, choices=MaskSource.choices, blank=True, verbose_name=gettext_lazy("mask source"))
    # A cut-out's own alpha (8-bit), kept beside its binary mask: the soft edge scene jobs blend it with. Other photos'
    # mattes are made from the photo and its mask when a job is made (sdstudio.matting); a drawn mask clears it.
    matte = models.ImageField(upload_to="mattes/", blank=True, verbose_name=gettext_lazy("matte"))
    # Masks are shared catalog data that any merchandiser may edit: each edit says who made it and when.
    mask_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    , verbose_name=gettext_lazy("mask changed by"))
    mask_changed_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("mask changed at"))
    # How much an automatic mask looks like one product (catalog.masks.confidence, 0-1); blank for the others.
    mask_confidence = models.FloatField(null=True, blank=True, verbose_name=gettext_lazy("mask confidence"))
    # What the upload says about its own origin (its C2PA manifest, else its XMP): an IPTC digital source type URI.
    declared_source_type = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("declared source type"))
    declared_by = models.CharField(max_length=16, blank=True, help_text="c2pa (a verified manifest) or xmp (a claim anyone can write).", verbose_name=gettext_lazy("declared by"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    , verbose_name=gettext_lazy("uploaded by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("product photo")
        verbose_name_plural = gettext_lazy("product photos")
        ordering = ["product", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "sha256"], name="photo_unique_pixels_per_product"),
        ]

    def __str__(self) -> str:
        return gettext("%(sku)s photo %(pk)s (%(width)sx%(height)s)") % {"sku": self.product.sku, "pk": self.pk, "width": self.width, "height": self.height}

    @property
    def mask_unsure(self) -> bool:
        """An automatic mask SD Studio is unsure of: pages and the API ask for a box around the product."""
        from catalog.masks import UNSURE_BELOW

        return self.mask_source == MaskSource.AUTOMATIC and self.mask_confidence is not None and self.mask_confidence < UNSURE_BELOW

    @property
    def choice_label(self) -> str:
        """How pickers name the photo: with a word when its automatic mask is unsure."""
        return f"{self} · automatic mask unsure: draw a box on its page" if self.mask_unsure else str(self)

    @property
    def declares_ai(self) -> bool:
        from sdstudio.iptc import AI_SOURCE_TYPES

        return self.declared_source_type in AI_SOURCE_TYPES

    def get_absolute_url(self) -> str:
        return reverse("catalog:photo_detail", kwargs={"sku": self.product.sku, "pk": self.pk})
