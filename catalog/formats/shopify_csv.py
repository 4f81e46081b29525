"""Shopify's product CSV, in and out (a catalog.formats entry).

Shopify's product CSV (its admin export and published template): one product
per Handle; its first row carries Title, Body (HTML), Vendor, Product Category,
Type, Tags, Published and Status; further rows of the same Handle add a variant
(Option values, Variant SKU, Variant Barcode) and/or an image (Image Src, Image
Position, Image Alt Text). Only the approved images go back, at their public
links (catalog.published).
"""
from __future__ import annotations

import csv
import html
import io
import logging
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import strip_tags

from catalog import services
from catalog.fetch import FetchRefused, fetch
from catalog.formats.base import ImportReport, ShopFormat
from catalog.models import Product, ProductVariant, validate_sku
from sdstudio.textsafe import FORMULA_STARTS, spreadsheet_cell

logger = logging.getLogger(__name__)

SHOPIFY_PRODUCT_COLUMNS = ("Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published")
OPTION_COLUMNS = tuple((f"Option{i} Name", f"Option{i} Value") for i in (1, 2, 3))
EXPORT_COLUMNS = ("Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
                  "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
                  "Variant SKU", "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Status")
SCIENTIFIC = re.compile(r"^\s*(\d+(?:[.,]\d+)?)[eE]\+?(\d+)\s*$")


def is_shopify(header: list[str]) -> bool:
    names = {name.strip() for name in header}
    return "Handle" in names and ("Title" in names or "Image Src" in names)


def plain_text(body_html: str) -> str:
    """A product description from Shopify's Body (HTML): tags stripped, entities decoded, paragraphs kept as lines."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", body_html or "")
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", "\n", text)
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def barcode_value(raw: str) -> tuple[str, str]:
    """(barcode, warning): Excel writes long barcodes as 4.00638E+12; exact digits are recovered only when all are there."""
    raw = (raw or "").strip().lstrip("'")
    match = SCIENTIFIC.match(raw)
    if not match:
        return raw, ""
    mantissa, exponent = match.group(1).replace(",", "."), int(match.group(2))
    try:
        value = Decimal(mantissa) * (Decimal(10) ** exponent)
    except InvalidOperation:
        return raw, f"barcode {raw!r} is not a number."
    digits = mantissa.replace(".", "").lstrip("0")
    if value != value.to_integral_value() or len(digits) < len(str(int(value))):
        return raw, (f"barcode {raw!r} was shortened by a spreadsheet (scientific notation): its last digits are lost. "
                     "Re-export the file with the barcode column formatted as text.")
    return str(int(value)), ""


def _groups(rows):
    """Rows grouped by Handle, in file order: [(handle, [(line, row), ...]), ...]; rows without a handle are errors.

    Shopify handles are case-insensitive: a handle that differs from an earlier one only in case would update
    the same product and overwrite it, so its rows are reported instead of imported.
    """
    groups: dict[str, list] = {}
    first_spelling: dict[str, tuple[str, int]] = {}
    errors = []
    for line, row in rows:
        row = {(key or "").strip(): _unescaped(value) for key, value in row.items() if key}
        handle = row.get("Handle", "")
        if not handle:
            errors.append((line, "the Handle column is empty: every row belongs to a product by its handle."))
            continue
        spelling, first_line = first_spelling.setdefault(handle.casefold(), (handle, line))
        if spelling != handle:
            errors.append((line, f"{handle[:80]}: not imported: the handle differs from {spelling[:80]!r} (line {first_line}) "
                                 "only in case, and Shopify treats them as one handle. Give one of them another handle."))
            continue
        groups.setdefault(handle, []).append((line, row))
    return list(groups.items()), errors


def _unescaped(value) -> str:
    """A cell as typed: stripped, and without the apostrophe a spreadsheet-safe export put before a formula character."""
    text = (value or "").strip() if isinstance(value, str) or value is None else ""
    return text[1:] if text.startswith("'") and text[1:].lstrip().startswith(FORMULA_STARTS) else text


def _whole_number(value: str) -> int | None:
    """A plain decimal number of a cell ("3"), or None: not "²" (isdigit() but not int()), not a 30-digit overflow."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def shopify_import(*, rows, user=None, fetch_images: bool = True, progress=None) -> ImportReport:
    """Import Shopify product rows (``rows``: (line, dict) pairs). Each product lands whole or not at all; its images
    are fetched afterwards through the safe fetcher and intake, each failure reported on its row."""
    report = ImportReport()
    groups, orphans = _groups(rows)
    report.errors += orphans
    for index, (handle, lines) in enumerate(groups, start=1):
        try:
            with transaction.atomic():
                product, created, images = _import_product(handle, lines, user, report)
        except ValidationError as exc:
            report.errors.append((lines[0][0], f"{handle[:80]}: " + " ".join(m[:300] for m in exc.messages)))
        except Exception as exc:  # one product's surprise is its own row's error; the rest of the file imports
            logger.exception("Shop import: product %r (line %s) failed", handle[:80], lines[0][0])
            report.errors.append((lines[0][0], f"{handle[:80]}: not imported ({type(exc).__name__}: {str(exc)[:200]})."))
        else:
            report.created += created
            report.updated += not created
            if fetch_images:
                for line, src in images:
                    if _fetch_photo(product, src, user, line, report):
                        report.images += 1
        if progress is not None:
            progress(index, len(groups))
    return report


def _import_product(handle: str, lines: list, user, report: ImportReport):
    first_line, first = lines[0]
    product = Product.objects.filter(handle=handle).first()
    if product is None:
        other = Product.objects.filter(handle__iexact=handle).first()
        if other is not None:
            raise ValidationError(f"product {other.sku} already has the handle {other.handle!r}, which differs from this one only "
                                  "in case (Shopify treats them as one handle); nothing was changed.")
        product = Product.objects.filter(sku__iexact=handle).first()
        if product is not None and product.handle:
            raise ValidationError(f"SKU {product.sku} already belongs to the shop product {product.handle!r}.")
    created = product is None
    title = first.get("Title", "")
    if created and not title:
        raise ValidationError("the first row of a new product needs a Title.")
    if created:
        sku = handle
        try:
            validate_sku(sku)
        except ValidationError:
            sku = next((row.get("Variant SKU") for _, row in lines if row.get("Variant SKU")), "")
            try:
                validate_sku(sku)
            except ValidationError:
                raise ValidationError(f"neither the handle nor a variant SKU can be an SD Studio SKU (1-64 letters, digits, "
                                      f"'.', '_', '-'): {handle[:80]!r}.") from None
        if Product.objects.filter(sku__iexact=sku).exists():
            raise ValidationError(f"SKU {sku} already belongs to another product.")
        product = Product(sku=sku, created_by=user)
    if title:
        product.name = title
    if "Body (HTML)" in first and (created or first.get("Body (HTML)")):
        product.description = plain_text(first.get("Body (HTML)", ""))
    product.handle = handle
    product.vendor = first.get("Vendor", product.vendor)
    product.product_type = first.get("Type", product.product_type)
    product.tags = first.get("Tags", product.tags)
    category = first.get("Product Category", "")
    if category:
        product.category = category[-100:]
    status = (first.get("Status") or "").lower()
    if status not in ("active", "draft", "archived"):
        published = (first.get("Published") or "").lower()
        status = "active" if published == "true" else "draft" if published == "false" else product.shop_status
    product.shop_status = status
    images = [(line, row["Image Src"]) for line, row in lines if row.get("Image Src")]
    positions = [(line, row["Image Position"], _whole_number(row["Image Position"])) for line, row in lines
                 if row.get("Image Position")]
    for line, raw, number in positions:
        if number is None:
            report.warnings.append((line, f"{handle[:80]}: Image Position {raw[:20]!r} is not a whole number; ignored."))
    product.shop_image_count = max([len(images)] + [number for _, _, number in positions if number is not None])
    product.full_clean(exclude=["created_by"], validate_unique=False)
    product.save()
    variant_rows = [(line, row) for line, row in lines
                    if row.get("Variant SKU") or row.get("Variant Barcode") or row.get("Option1 Value") or row.get("Variant Price")]
    if variant_rows:
        product.variants.all().delete()
        names = [first.get(name_col, "") for name_col, _ in OPTION_COLUMNS]
        for position, (line, row) in enumerate(variant_rows, start=1):
            barcode, warning = barcode_value(row.get("Variant Barcode", ""))
            if warning:
                report.warnings.append((line, f"{handle}: {warning}"))
            options = {name or f"Option{i + 1}": row.get(value_col) for i, ((_, value_col), name) in
                       enumerate(zip(OPTION_COLUMNS, names)) if row.get(value_col)}
            ProductVariant.objects.create(product=product, sku=row.get("Variant SKU", "")[:255], barcode=barcode[:64],
                                          options=options, position=position)
            report.variants += 1
    return product, created, images


def _fetch_photo(product, src: str, user, line: int, report: ImportReport) -> bool:
    try:
        data, final_url = fetch(src)
        services.photo_add(product=product, data=data, name=final_url.rsplit("/", 1)[-1][:200] or "image", user=user)
    except services.DuplicatePhoto:
        return False
    except FetchRefused as exc:
        report.errors.append((line, f"{product.sku}: image {src[:200]} not fetched: {exc}"))
        return False
    except ValidationError as exc:
        report.errors.append((line, f"{product.sku}: image {src[:200]} refused: {' '.join(exc.messages)}"))
        return False
    except Exception as exc:  # an image is its row's problem, never the whole import's
        logger.exception("Shop import: image %r (line %s) failed", src[:200], line)
        report.errors.append((line, f"{product.sku}: image {src[:200]} not imported ({type(exc).__name__}: {str(exc)[:200]})."))
        return False
    return True


def _safe_cells(row: dict) -> dict:
    """Every cell of a spreadsheet-bound row shown as text: Shopify's CSV is opened in spreadsheets too."""
    return {key: spreadsheet_cell(value) for key, value in row.items()}


def shopify_export(base_url: str, images) -> str:
    """A Shopify product CSV: every product with its variants, then its approved images as extra image rows."""
    by_product: dict[int, list] = {}
    for image in images:
        by_product.setdefault(image.product_id, []).append(image)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    products = Product.objects.prefetch_related("variants").order_by("sku")
    for product in products:
        handle = product.shop_handle
        variants = list(product.variants.all()) or [None]
        option_names = list(dict.fromkeys(name for v in variants if v for name in v.options))[:3]
        for index, variant in enumerate(variants):
            row = {"Handle": handle}
            if index == 0:
                row.update({"Title": product.name, "Body (HTML)": html.escape(product.description).replace("\n", "<br>"),
                            "Vendor": product.vendor, "Product Category": product.category, "Type": product.product_type,
                            "Tags": product.tags, "Published": "true" if product.shop_status in ("", "active") else "false",
                            "Status": product.shop_status or "active"})
                for i, name in enumerate(option_names, start=1):
                    row[f"Option{i} Name"] = name
            if variant is not None:
                for i, name in enumerate(option_names, start=1):
                    row[f"Option{i} Value"] = variant.options.get(name, "")
                row.update({"Variant SKU": variant.sku, "Variant Barcode": variant.barcode})
            writer.writerow(_safe_cells(row))
        for position, image in enumerate(by_product.get(product.pk, []), start=product.shop_image_count + 1):
            writer.writerow(_safe_cells({"Handle": handle, "Image Src": base_url + image.path, "Image Position": position,
                                         "Image Alt Text": image.alt or f"{product.name} (generated with SD Studio, {image.made_with})"}))
    return out.getvalue()


class ShopifyCsv(ShopFormat):
    name = "shopify"
    label = "Shopify product CSV"
    filename = "sdstudio-shopify-products.csv"
    content_type = "text/csv; charset=utf-8"

    def matches(self, header: list[str]) -> bool:
        return is_shopify(header)

    def export(self, base_url: str, images, **options) -> str:
        return shopify_export(base_url, images)

    def import_rows(self, rows, *, user=None, fetch_images: bool = True, progress=None) -> ImportReport:
        return shopify_import(rows=rows, user=user, fetch_images=fetch_images, progress=progress)
