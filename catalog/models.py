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
        raise ValidationError(gettext("SKU “%(value)s” is reserved by the catalog's pages; choose another.")
                              % {"value": value}, code="reserved_sku")


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True, validators=[validate_sku])
    name = models.CharField(gettext_lazy("name"), max_length=200)
    description = models.TextField(gettext_lazy("description"), blank=True)
    category = models.CharField(gettext_lazy("category"), max_length=100, blank=True, db_index=True)
    # From the shop (a Shopify product CSV): its handle, vendor, type, tags and status, kept for the way back.
    handle = models.CharField(gettext_lazy("handle"), max_length=255, blank=True, db_index=True,
                              help_text=gettext_lazy("The shop's handle (Shopify); blank = the SKU."))
    vendor = models.CharField(gettext_lazy("vendor"), max_length=255, blank=True)
    product_type = models.CharField(gettext_lazy("product type"), max_length=255, blank=True)
    tags = models.CharField(gettext_lazy("tags"), max_length=1000, blank=True)
    shop_status = models.CharField(gettext_lazy("shop status"), max_length=16, blank=True,
                                   help_text=gettext_lazy("active, draft or archived in the shop."))
    shop_image_count = models.PositiveIntegerField(gettext_lazy("shop image count"), default=0,
                                                   help_text=gettext_lazy("Images the shop already has: exported images come after them."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

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

    product = models.ForeignKey(Product, verbose_name=gettext_lazy("product"), on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=255, blank=True)
    barcode = models.CharField(gettext_lazy("barcode"), max_length=64, blank=True)
    options = models.JSONField(gettext_lazy("options"), default=dict, blank=True,
                               help_text=gettext_lazy('Option name -> value, e.g. {"Color": "Black"}.'))
    position = models.PositiveIntegerField(gettext_lazy("position"), default=1)

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

    file = models.FileField(gettext_lazy("file"), upload_to="imports/")
    original_name = models.CharField(gettext_lazy("original name"), max_length=255, blank=True)
    status = models.CharField(gettext_lazy("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(gettext_lazy("total"), default=0, help_text=gettext_lazy("Products in the file."))
    done = models.PositiveIntegerField(gettext_lazy("done"), default=0)
    report = models.JSONField(gettext_lazy("report"), default=dict, blank=True)
    error = models.TextField(gettext_lazy("error"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(gettext_lazy("finished at"), null=True, blank=True)

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

    token = models.CharField(gettext_lazy("token"), max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(gettext_lazy("revoked at"), null=True, blank=True)

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
    product = models.ForeignKey(Product, verbose_name=gettext_lazy("product"), on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(gettext_lazy("image"), upload_to=photo_upload_to)
    thumbnail = models.ImageField(gettext_lazy("thumbnail"), upload_to="thumbs/", blank=True)
    width = models.PositiveIntegerField(gettext_lazy("width"))
    height = models.PositiveIntegerField(gettext_lazy("height"))
    sha256 = models.CharField(gettext_lazy("sha256"), max_length=64, help_text=gettext_lazy("SHA-256 of the decoded RGB pixels."))
    original_name = models.CharField(gettext_lazy("original name"), max_length=255, blank=True)
    original_format = models.CharField(gettext_lazy("original format"), max_length=16, blank=True)
    # Scene jobs keep the product's pixels through this mask (255 = product): a cut-out's alpha, drawn, or automatic.
    mask = models.ImageField(gettext_lazy("mask"), upload_to="masks/", blank=True)
    mask_source = models.CharField(gettext_lazy("mask source"), max_length=16, choices=MaskSource.choices, blank=True)
    # A cut-out's own alpha (8-bit), kept beside its binary mask: the soft edge scene jobs blend it with. Other photos'
    # mattes are made from the photo and its mask when a job is made (sdstudio.matting); a drawn mask clears it.
    matte = models.ImageField(gettext_lazy("matte"), upload_to="mattes/", blank=True)
    # Masks are shared catalog data that any merchandiser may edit: each edit says who made it and when.
    mask_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("mask changed by"), null=True,
                                        blank=True, on_delete=models.SET_NULL, related_name="+")
    mask_changed_at = models.DateTimeField(gettext_lazy("mask changed at"), null=True, blank=True)
    # How much an automatic mask looks like one product (catalog.masks.confidence, 0-1); blank for the others.
    mask_confidence = models.FloatField(gettext_lazy("mask confidence"), null=True, blank=True)
    # What the upload says about its own origin (its C2PA manifest, else its XMP): an IPTC digital source type URI.
    declared_source_type = models.CharField(gettext_lazy("declared source type"), max_length=200, blank=True)
    declared_by = models.CharField(gettext_lazy("declared by"), max_length=16, blank=True,
                                   help_text=gettext_lazy("c2pa (a verified manifest) or xmp (a claim anyone can write)."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("uploaded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("product photo")
        verbose_name_plural = gettext_lazy("product photos")
        ordering = ["product", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "sha256"], name="photo_unique_pixels_per_product"),
        ]

    def __str__(self) -> str:
        return gettext("%(sku)s photo %(pk)s (%(width)sx%(height)s)") % {
            "sku": self.product.sku, "pk": self.pk, "width": self.width, "height": self.height}

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
