"""Writes to the catalog: products and photos (through the one safe intake)."""
from __future__ import annotations

import logging
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from catalog import masks, segmenter
from catalog.intake import CleanPhoto, clean_photo
from catalog.models import MaskSource, Product, ProductPhoto
from catalog.worker import SHOP_QUEUE
from sdstudio.images import thumbnail_png
from sdstudio.roles import require
from sdstudio.storedfiles import store_with_row

logger = logging.getLogger(__name__)


class DuplicatePhoto(ValidationError):
    def __init__(self, existing: ProductPhoto):
        self.existing = existing
        super().__init__(
            gettext("This photo is already on %(sku)s (photo #%(pk)s); it was not added twice.")
            % {"sku": existing.product.sku, "pk": existing.pk},
            code="duplicate",
        )


@transaction.atomic
def product_create(*, sku: str, name: str, description: str = "", category: str = "", user=None) -> Product:
    require(user, "catalog.add_product", gettext("Only merchandisers (or admins) can create products."))
    sku = sku.strip()
    if not sku:
        raise ValidationError({"sku": gettext("Give the product a SKU.")})
    product = Product(sku=sku, name=name.strip(), description=description.strip(), category=category.strip(), created_by=user)
    # The model's rules (validate_sku on the field) and limits, as field errors: SQLite would store a
    # 500-character name in a 200-character column.
    product.full_clean(exclude=["created_by"], validate_unique=False)
    if Product.objects.filter(sku__iexact=sku).exists():
        raise ValidationError({"sku": gettext("SKU %(sku)s already exists; SKUs are unique.") % {"sku": sku}})
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, name: str, description: str = "", category: str = "", user=None) -> Product:
    require(user, "catalog.change_product", gettext("Only merchandisers (or admins) can change products."))
    product.name = name.strip()
    product.description = description.strip()
    product.category = category.strip()
    product.full_clean(exclude=["created_by", "sku"], validate_unique=False)
    product.save(update_fields=["name", "description", "category", "updated_at"])
    return product


def photo_add(*, product: Product, data: bytes, name: str | None = None, user=None) -> tuple[ProductPhoto, list[str]]:
    """Validate, normalise and store one photo. Nothing is stored unless every check passes.

    Returns the photo and notes for the user (e.g. an animation reduced to its first frame).
    Raises ValidationError (DuplicatePhoto for the same pixels already on this product).
    """
    require(user, "catalog.add_productphoto", gettext("Only merchandisers (or admins) can add photos."))
    clean = clean_photo(data, name=name)
    return _store(product=product, clean=clean, user=user), clean.notes


def _store(*, product: Product, clean: CleanPhoto, user) -> ProductPhoto:
    photo = _store_photo(product=product, clean=clean, user=user)
    if photo.mask_source != MaskSource.ALPHA and segmenter.configured():
        transaction.on_commit(lambda: photo_segment_enqueue(photo_id=photo.pk))
    return photo


def photo_segment_enqueue(*, photo_id: int) -> bool:
    """Ask the shop worker for the learned segmenter's mask of a photo; Redis being down keeps the built-in one."""
    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(SHOP_QUEUE).enqueue("catalog.tasks.run_photo_segmentation", photo_id, result_ttl=0,
                                                job_id=f"sdstudio-segment-photo-{photo_id}", job_timeout=3600)
    except RedisError as exc:
        logger.warning("Photo %s keeps its built-in mask: Redis is unreachable (%s).", photo_id, exc)
        return False
    return True


def photo_segment(*, photo_id: int) -> ProductPhoto | None:
    """On the shop worker: the learned segmenter's mask and soft matte replace the built-in automatic mask. A mask a
    person drew or hinted, or a cut-out's own, stays; so does the built-in one when the segmenter finds nothing usable."""
    import django_rq

    from sdstudio.images import open_image

    photo = ProductPhoto.objects.filter(pk=photo_id).first()
    if photo is None or photo.mask_source not in (MaskSource.AUTOMATIC, ""):
        return None
    image = open_image(photo.image)
    soft = segmenter.get(connection=django_rq.get_connection(SHOP_QUEUE)).predict(image)
    try:
        mask = masks.check(masks.binarize(soft), image.size)
    except ValidationError as exc:
        logger.info("Photo %s keeps its built-in mask: the segmenter's says %s", photo_id, " ".join(exc.messages))
        return None
    old = [photo.mask.name, photo.matte.name]
    photo.mask.save(f"{uuid.uuid4().hex}.png", ContentFile(masks.png(mask)), save=False)
    photo.matte.save(f"{uuid.uuid4().hex}.png", ContentFile(masks.png(soft, soft=True)), save=False)
    # Only while the mask is still the automatic one: a person who drew meanwhile keeps their mask.
    changed = ProductPhoto.objects.filter(pk=photo.pk, mask_source__in=(MaskSource.AUTOMATIC, "")).update(
        mask=photo.mask.name, matte=photo.matte.name, mask_source=MaskSource.LEARNED,
        mask_confidence=masks.confidence(image, mask))
    for name in (old if changed else [photo.mask.name, photo.matte.name]):
        if name:
            photo.mask.storage.delete(name)
    return ProductPhoto.objects.get(pk=photo.pk) if changed else None


def _store_photo(*, product: Product, clean: CleanPhoto, user) -> ProductPhoto:
    existing = ProductPhoto.objects.filter(product=product, sha256=clean.sha256).select_related("product").first()
    if existing is not None:
        raise DuplicatePhoto(existing)
    mask, mask_source, mask_confidence = _first_mask(clean)
    photo = ProductPhoto(
        product=product,
        mask_source=mask_source,
        mask_confidence=mask_confidence,
        sha256=clean.sha256,
        width=clean.width,
        height=clean.height,
        original_name=clean.original_name,
        original_format=clean.original_format,
        declared_source_type=clean.declared_source_type,
        declared_by=clean.declared_by,
        uploaded_by=user,
    )
    stem = uuid.uuid4().hex
    try:
        store_with_row(photo, [(photo.image, f"{stem}.png", clean.png),
                               (photo.thumbnail, f"{stem}.png", thumbnail_png(clean.image)),
                               (photo.mask, f"{stem}.png", masks.png(mask) if mask is not None else b""),
                               (photo.matte, f"{stem}.png", masks.png(clean.alpha, soft=True)
                                if mask_source == MaskSource.ALPHA else b"")])
    except IntegrityError:  # the same photo landed concurrently
        existing = ProductPhoto.objects.select_related("product").get(product=product, sha256=clean.sha256)
        raise DuplicatePhoto(existing) from None
    return photo


def _first_mask(clean: CleanPhoto):
    """(mask, source, confidence): a cut-out's own alpha, else the automatic mask with how sure it is; none when
    nothing usable stands out (the editor can draw one)."""
    if clean.mask is not None:
        try:
            return masks.check(clean.mask, clean.image.size), MaskSource.ALPHA, None
        except ValidationError:
            pass
    found, score, _ = masks.find_product(clean.image)
    try:
        return masks.check(found, clean.image.size), MaskSource.AUTOMATIC, score
    except ValidationError:
        return None, "", None


def photo_set_mask(*, photo: ProductPhoto, data: bytes, user=None) -> ProductPhoto:
    """Store a drawn mask (PNG bytes, white = product) for the photo, or raise ValidationError with what is wrong."""
    require(user, "catalog.change_productphoto", gettext("Only merchandisers (or admins) can change a product's mask."))
    return _save_mask(photo, masks.decode(data, (photo.width, photo.height)), MaskSource.DRAWN, user)


def mask_from_hints(*, photo: ProductPhoto, box=None, add=(), remove=(), start=None, focus=None):
    """The mask GrabCut finds from a person's hints on the photo (catalog.masks.from_hints), checked; not stored.

    ``box`` is x0,y0,x1,y1 and the points x,y in the photo's pixels; without a box the points refine ``start`` (a
    mask image; default: the photo's own mask). ``focus`` (x,y, one of the points: the one just clicked) keeps
    ``start`` as it is away from it. ValidationError with a sentence for a box or point that is wrong.
    """
    from sdstudio.images import open_image

    size = (photo.width, photo.height)
    box = masks.parse_box(box, size) if box not in (None, "", ()) else None
    add, remove = masks.parse_points(add, size), masks.parse_points(remove, size)
    if box is None and not add and not remove:
        raise ValidationError(gettext("Give a box around the product, or points on the product (+) or on the scene (-)."), code="no_hint")
    focus = masks.parse_points([focus], size)[0] if focus not in (None, "") else None
    if focus is not None and focus not in add + remove:
        raise ValidationError(gettext("The point just clicked must be one of the points given."), code="focus_not_a_point")
    if (box is None or focus is not None) and start is None:
        start = photo_mask_image(photo)
    found = masks.from_hints(open_image(photo.image), box=box, add=add, remove=remove, start=start, focus=focus)
    return masks.check(found, size)


def photo_set_mask_from_hints(*, photo: ProductPhoto, box=None, add=(), remove=(), user=None) -> ProductPhoto:
    """Find the product from a box and points (mask_from_hints) and store it as the photo's mask."""
    require(user, "catalog.change_productphoto", gettext("Only merchandisers (or admins) can change a product's mask."))
    return _save_mask(photo, mask_from_hints(photo=photo, box=box, add=add, remove=remove), MaskSource.HINTED, user)


def _save_mask(photo: ProductPhoto, mask, source: str, user) -> ProductPhoto:
    """Store ``mask`` as the photo's mask, with where it came from and who changed it.

    The old file stays until the row points at the new one: jobs already made keep their own copy.
    """
    from django.utils import timezone

    old, old_matte = photo.mask.name, photo.matte.name
    photo.mask_source, photo.mask_confidence = source, None  # a person's mask: nothing to be unsure of
    photo.mask_changed_by, photo.mask_changed_at = user, timezone.now()
    photo.matte = ""  # the cut-out's alpha no longer says where this mask's edge is
    store_with_row(photo, [(photo.mask, f"{uuid.uuid4().hex}.png", masks.png(mask))],
                   update_fields=["mask", "matte", "mask_source", "mask_confidence", "mask_changed_by", "mask_changed_at",
                                  "updated_at"])
    for name in (old, old_matte):
        if name:
            photo.mask.storage.delete(name)
    return photo


def photo_matte_image(photo: ProductPhoto):
    """A cut-out's own alpha (L, its soft edge), or None for a photo that was not cut out or whose mask was redrawn."""
    from sdstudio.images import open_image

    return open_image(photo.matte).convert("L") if photo.matte else None


def photo_mask_image(photo: ProductPhoto, *, automatic: bool = False):
    """The photo's mask as a Pillow image (or the automatic one, for the editor's 'start again'); None when it has none."""
    from sdstudio.images import open_image

    if automatic:
        return masks.find_product(open_image(photo.image))[0]
    if not photo.mask:
        return None
    return masks.binarize(open_image(photo.mask))


IMPORT_COLUMNS = ("sku", "name", "description", "category", "photo")


def catalog_import(*, rows, base_dir, user=None) -> dict:
    """Import products (and an optional photo each) from CSV rows; each row lands whole or not at all.

    Existing SKUs are updated; a photo already on the product is recognised and not added twice.
    Returns {"created": n, "updated": n, "errors": [(line, message), ...]}.
    """
    require(user, "catalog.add_product", gettext("Only merchandisers (or admins) can import products."))
    from pathlib import Path

    report = {"created": 0, "updated": 0, "errors": []}
    for line, row in rows:
        row = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
        try:
            with transaction.atomic():
                if not row.get("sku"):
                    raise ValidationError(gettext("the sku column is empty."))
                if not row.get("name"):
                    raise ValidationError(gettext("the name column is empty."))
                product = Product.objects.filter(sku=row["sku"]).first()
                if product is None:
                    product = product_create(sku=row["sku"], name=row["name"], description=row.get("description", ""),
                                             category=row.get("category", ""), user=user)
                    report_key = "created"
                else:
                    product_update(product=product, name=row["name"], description=row.get("description", ""), category=row.get("category", ""), user=user)
                    report_key = "updated"
                if row.get("photo"):
                    folder = Path(base_dir).resolve()
                    path = (folder / row["photo"]).resolve()
                    # Photos come from the CSV's own folder: no absolute paths, no "../" out of it.
                    if Path(row["photo"]).is_absolute() or not path.is_relative_to(folder):
                        raise ValidationError(gettext("photo “%(value)s” is outside the CSV's folder; give a path relative to it.")
                                              % {"value": row['photo'][:200]})
                    if not path.is_file():
                        raise ValidationError(gettext("photo file %(value)s not found.") % {"value": row['photo'][:200]})
                    try:
                        photo_add(product=product, data=path.read_bytes(), name=path.name, user=user)
                    except DuplicatePhoto:
                        pass
        except ValidationError as exc:
            report["errors"].append((line, " ".join(m[:300] for m in exc.messages)))
        else:
            report[report_key] += 1
    return report


@transaction.atomic
def feed_token_create(*, user):
    """A new secret for the Merchant Center feed's link; the previous ones stop working (administrators only: every
    shop integration that fetches the feed must be given the new link)."""
    require(user, "catalog.add_feedtoken", gettext("Only an administrator can replace the feed link: every shop that fetches the feed must then be given"
                                                   " the new one."))
    import secrets

    from django.utils import timezone

    from catalog.models import FeedToken

    FeedToken.objects.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    return FeedToken.objects.create(token=secrets.token_urlsafe(32), created_by=user)
