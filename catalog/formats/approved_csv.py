"""A plain CSV of each SKU's approved images, Merchant-style columns (a catalog.formats entry)."""
from __future__ import annotations

import csv
import io

from catalog.formats.base import ShopFormat
from catalog.formats.merchant_center_tsv import links_by_product
from sdstudio.textsafe import spreadsheet_cell


class ApprovedCsv(ShopFormat):
    name = "approved"
    label = "Approved images (CSV, one row per SKU)"
    filename = "sdstudio-approved-feed.csv"
    content_type = "text/csv; charset=utf-8"

    def export(self, base_url: str, images, **options) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "image_link", "additional_image_link"])
        for product, urls in links_by_product(base_url, images).items():
            writer.writerow([spreadsheet_cell(product.sku), urls[0], ",".join(urls[1:])])
        return out.getvalue()
