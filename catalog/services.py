"""Writes to the catalog: products and photos (through the one safe intake)."""
from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import masks
from catalog.intake import CleanPhoto, clean_photo
from catalog.models import MaskSource, Product, ProductPhoto
from sdstudio.images import thumbnail_png
from sdstudio.roles import require
from sdstudio.storedfiles import store_with_row


class DuplicatePhoto(ValidationError):
    def __init__(self, existing: ProductPhoto):
        self.existing = existing
        super().__init__(
            f"This photo is already on {existing.product.sku} (photo #{existing.pk}); it was not added twice.",
            code="duplicate",
        )


@transaction.atomic
def product_create(*, sku: str, name: str, description: str = "", category: str = "", created_by=None) -> Product:
    sku = sku.strip()
    if not sku:
        raise ValidationError({"sku": "Give the product a SKU."})
    product = Product(sku=sku, name=name.strip(), description=description.strip(), category=category.strip(), created_by=created_by)
    # The model's rules (validate_sku on the field) and limits, as field errors: SQLite would store a
    # 500-character name in a 200-character column.
    product.full_clean(exclude=["created_by"], validate_unique=False)
    if Product.objects.filter(sku__iexact=sku).exists():
        raise ValidationError({"sku": f"SKU {sku} already exists; SKUs are unique."})
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, name: str, description: str = "", category: str = "") -> Product:
    product.name = name.strip()
    product.description = description.strip()
    product.category = category.strip()
    product.full_clean(exclude=["created_by", "sku"], validate_unique=False)
    product.save(update_fields=["name", "description", "category", "updated_at"])
    return product


def photo_add(*, product: Product, data: bytes, name: str | None = None, uploaded_by=None) -> tuple[ProductPhoto, list[str]]:
    """Validate, normalise and store one photo. Nothing is stored unless every check passes.

    Returns the photo and notes for the user (e.g. an animation reduced to its first frame).
    Raises ValidationError (DuplicatePhoto for the same pixels already on this product).
    """
    clean = clean_photo(data, name=name)
    return _store(product=product, clean=clean, uploaded_by=uploaded_by), clean.notes


def _store(*, product: Product, clean: CleanPhoto, uploaded_by) -> ProductPhoto:
    existing = ProductPhoto.objects.filter(product=product, sha256=clean.sha256).select_related("product").first()
    if existing is not None:
        raise DuplicatePhoto(existing)
    mask, mask_source = _first_mask(clean)
    photo = ProductPhoto(
        product=product,
        mask_source=mask_source,
        sha256=clean.sha256,
        width=clean.width,
        height=clean.height,
        original_name=clean.original_name,
        original_format=clean.original_format,
        declared_source_type=clean.declared_source_type,
        declared_by=clean.declared_by,
        uploaded_by=uploaded_by,
    )
    stem = uuid.uuid4().hex
    try:
        store_with_row(photo, [(photo.image, f"{stem}.png", clean.png),
                               (photo.thumbnail, f"{stem}.png", thumbnail_png(clean.image)),
                               (photo.mask, f"{stem}.png", masks.png(mask) if mask is not None else b"")])
    except IntegrityError:  # the same photo landed concurrently
        existing = ProductPhoto.objects.select_related("product").get(product=product, sha256=clean.sha256)
        raise DuplicatePhoto(existing) from None
    return photo


def _first_mask(clean: CleanPhoto):
    """A cut-out's own alpha, else the automatic mask; none when nothing usable stands out (the editor can draw one)."""
    if clean.mask is not None:
        try:
            return masks.check(clean.mask, clean.image.size), MaskSource.ALPHA
        except ValidationError:
            pass
    try:
        return masks.check(masks.automatic(clean.image), clean.image.size), MaskSource.AUTOMATIC
    except ValidationError:
        return None, ""


def photo_set_mask(*, photo: ProductPhoto, data: bytes, changed_by=None) -> ProductPhoto:
    """Store a drawn mask (PNG bytes, white = product) for the photo, or raise ValidationError with what is wrong.

    The old file stays until the row points at the new one: jobs already made keep their own copy.
    """
    mask = masks.decode(data, (photo.width, photo.height))
    from django.utils import timezone

    old = photo.mask.name
    photo.mask_source = MaskSource.DRAWN
    photo.mask_changed_by, photo.mask_changed_at = changed_by, timezone.now()
    store_with_row(photo, [(photo.mask, f"{uuid.uuid4().hex}.png", masks.png(mask))],
                   update_fields=["mask", "mask_source", "mask_changed_by", "mask_changed_at", "updated_at"])
    if old:
        photo.mask.storage.delete(old)
    return photo


def photo_mask_image(photo: ProductPhoto, *, automatic: bool = False):
    """The photo's mask as a Pillow image (or the automatic one, for the editor's 'start again'); None when it has none."""
    from sdstudio.images import open_image

    if automatic:
        return masks.automatic(open_image(photo.image).convert("RGB"))
    if not photo.mask:
        return None
    return masks.binarize(open_image(photo.mask))


IMPORT_COLUMNS = ("sku", "name", "description", "category", "photo")


def catalog_import(*, rows, base_dir, uploaded_by=None) -> dict:
    """Import products (and an optional photo each) from CSV rows; each row lands whole or not at all.

    Existing SKUs are updated; a photo already on the product is recognised and not added twice.
    Returns {"created": n, "updated": n, "errors": [(line, message), ...]}.
    """
    from pathlib import Path

    report = {"created": 0, "updated": 0, "errors": []}
    for line, row in rows:
        row = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
        try:
            with transaction.atomic():
                if not row.get("sku"):
                    raise ValidationError("the sku column is empty.")
                if not row.get("name"):
                    raise ValidationError("the name column is empty.")
                product = Product.objects.filter(sku=row["sku"]).first()
                if product is None:
                    product = product_create(sku=row["sku"], name=row["name"], description=row.get("description", ""),
                                             category=row.get("category", ""), created_by=uploaded_by)
                    report_key = "created"
                else:
                    product_update(product=product, name=row["name"], description=row.get("description", ""), category=row.get("category", ""))
                    report_key = "updated"
                if row.get("photo"):
                    folder = Path(base_dir).resolve()
                    path = (folder / row["photo"]).resolve()
                    # Photos come from the CSV's own folder: no absolute paths, no "../" out of it.
                    if Path(row["photo"]).is_absolute() or not path.is_relative_to(folder):
                        raise ValidationError(f"photo {row['photo'][:200]!r} is outside the CSV's folder; give a path relative to it.")
                    if not path.is_file():
                        raise ValidationError(f"photo file {row['photo'][:200]} not found.")
                    try:
                        photo_add(product=product, data=path.read_bytes(), name=path.name, uploaded_by=uploaded_by)
                    except DuplicatePhoto:
                        pass
        except ValidationError as exc:
            report["errors"].append((line, " ".join(m[:300] for m in exc.messages)))
        else:
            report[report_key] += 1
    return report


@transaction.atomic
def feed_token_create(*, created_by):
    """A new secret for the Merchant Center feed's link; the previous ones stop working (administrators only: every
    shop integration that fetches the feed must be given the new link)."""
    require(created_by, "catalog.add_feedtoken", "Only an administrator can replace the feed link: every shop that fetches "
                                                 "the feed must then be given the new one.")
    import secrets

    from django.utils import timezone

    from catalog.models import FeedToken

    FeedToken.objects.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    return FeedToken.objects.create(token=secrets.token_urlsafe(32), created_by=created_by)


SHOP_QUEUE = "shop"


def shop_import_start(*, data: bytes, name: str = "", created_by=None):
    """Check a Shopify CSV (UTF-8, Shopify's header), store it and queue it for the shop worker; ValidationError if unusable."""
    from catalog import shop
    from catalog.models import ShopImport

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text: export it again from Shopify (Products > Export).") from None
    rows, header, _ = shop.read_rows(text)
    if not shop.is_shopify(header):
        raise ValidationError("This is not a Shopify product CSV: its first line must name Handle and Title columns.")
    with transaction.atomic():
        run = ShopImport(original_name=name[:255], created_by=created_by, total=len({row.get("Handle") for _, row in rows} - {""}))
        store_with_row(run, [(run.file, f"{uuid.uuid4().hex}.csv", data)])
        transaction.on_commit(lambda: shop_import_enqueue(import_id=run.pk))
    return run


def shop_import_enqueue(*, import_id: int) -> bool:
    """Put the import on the shop queue; Redis being down leaves it queued (the page says so)."""
    import logging

    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(SHOP_QUEUE).enqueue("catalog.tasks.run_shop_import", import_id, job_id=f"sdstudio-shop-import-{import_id}",
                                                 job_timeout=3600, result_ttl=0)
    except RedisError as exc:
        logging.getLogger(__name__).warning("Shop import %s stays queued: Redis is unreachable (%s).", import_id, exc)
        return False
    return True


def shop_import_run(*, import_id: int) -> None:
    """On the shop worker: import the file, writing progress as products land, then the report."""
    import time

    from django.utils import timezone

    from catalog import shop
    from catalog.models import ShopImport

    claimed = ShopImport.objects.filter(pk=import_id, status=ShopImport.Status.QUEUED).update(status=ShopImport.Status.RUNNING)
    if not claimed:
        return
    run = ShopImport.objects.get(pk=import_id)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 0.5 or done == total:
            ShopImport.objects.filter(pk=import_id).update(done=done, total=total)
            last[0] = time.monotonic()

    try:
        with run.file.open("rb") as handle:
            rows, _, unreadable = shop.read_rows(handle.read().decode("utf-8-sig"))
        report = shop.shopify_import(rows=rows, uploaded_by=run.created_by, progress=progress)
        report.errors += unreadable
    except Exception as exc:  # the row says what happened; the products already imported stay
        ShopImport.objects.filter(pk=import_id).update(status=ShopImport.Status.FAILED, error=f"{type(exc).__name__}: {exc}",
                                                       finished_at=timezone.now())
        raise
    ShopImport.objects.filter(pk=import_id).update(status=ShopImport.Status.DONE, report=report.as_dict(), finished_at=timezone.now())
