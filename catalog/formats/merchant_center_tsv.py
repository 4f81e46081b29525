"""Google Merchant Center's supplemental feed (TSV): each offer's approved images (a catalog.formats entry)."""
from __future__ import annotations

import csv
import io

from django.conf import settings

from catalog.formats.base import ShopFormat
from catalog.models import Product
from sdstudio.textsafe import spreadsheet_cell

ADDITIONAL_IMAGES_MAX = 10  # Merchant Center takes ten additional_image_link values


def offer_ids(product: Product, template: str) -> list[str]:
    """The Merchant Center offer ids of a product: one, or one per variant when the template names {variant_sku}."""
    values = {"sku": product.sku, "handle": product.shop_handle}
    if "{variant_sku}" in template:
        return [template.format(**values, variant_sku=v.sku) for v in product.variants.all() if v.sku] or [template.format(**values, variant_sku=product.sku)]
    return [template.format(**values)]


def links_by_product(base_url: str, images) -> dict[Product, list[str]]:
    """Each product with approved images -> their public links, oldest first (products in SKU order)."""
    by_id: dict[int, list[str]] = {}
    for image in images:
        by_id.setdefault(image.product_id, []).append(base_url + image.path)
    products = Product.objects.filter(pk__in=by_id).prefetch_related("variants").order_by("sku")
    return {product: by_id[product.pk] for product in products}


class MerchantCenterTsv(ShopFormat):
    name = "merchant"
    label = "Merchant Center supplemental feed"
    filename = "sdstudio-merchant-center.tsv"
    content_type = "text/tab-separated-values; charset=utf-8"

    def export(self, base_url: str, images, *, id_template: str | None = None, **options) -> str:
        """id, image_link, additional_image_link; every cell safe in spreadsheets."""
        template = id_template or settings.SDSTUDIO_FEED_ID_TEMPLATE
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "image_link", "additional_image_link"])
        for product, urls in links_by_product(base_url, images).items():
            for offer in offer_ids(product, template):
                writer.writerow([spreadsheet_cell(offer), urls[0], ",".join(urls[1:1 + ADDITIONAL_IMAGES_MAX])])
        return out.getvalue()
