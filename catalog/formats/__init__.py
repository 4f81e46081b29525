"""Shop file formats behind one seam: each format is one module here, registered by name.

A format may read a shop's file into products (``import_rows``, recognised by its header with ``matches``) and
may write the catalog with its approved images for a shop (``export``). The pages, the API, the commands and the
shop worker ask this registry; a new format (a WooCommerce CSV, say) is one more module and one ``register`` line.
The images come from ``catalog.published`` (what the app that makes them provides), never from that app itself.
"""
from __future__ import annotations

import csv
import io

from catalog import published
from catalog.formats.approved_csv import ApprovedCsv
from catalog.formats.base import ImportReport, ShopFormat  # noqa: F401  (formats and callers name them from here)
from catalog.formats.merchant_center_tsv import MerchantCenterTsv
from catalog.formats.shopify_csv import ShopifyCsv


_REGISTRY: dict[str, ShopFormat] = {}


def register(shop_format: ShopFormat | type[ShopFormat]) -> ShopFormat:
    instance = shop_format() if isinstance(shop_format, type) else shop_format
    _REGISTRY[instance.name] = instance
    return instance


def get(name: str) -> ShopFormat:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown shop format {name!r}; choose one of {', '.join(_REGISTRY)}.") from None


def export_formats() -> list[ShopFormat]:
    return [f for f in _REGISTRY.values() if f.exports]


def detect(header: list[str]) -> ShopFormat | None:
    """The import format whose header this is, or None."""
    return next((f for f in _REGISTRY.values() if f.imports and f.matches(header)), None)


def export(name: str, base_url: str, *, campaign: int | None = None, **options) -> str:
    """The catalog in format ``name``, its approved images (``campaign``: that campaign's) at their public links
    under ``base_url``."""
    return get(name).export(base_url.rstrip("/"), published.published_images(campaign=campaign), **options)


def csv_rows(reader: csv.DictReader, errors: list):
    """(line, row) pairs; a row the csv module cannot read (e.g. an oversized field) becomes a line error."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append((reader.line_num + 1, f"unreadable row: {exc}."))  # the line being read
            continue
        yield reader.line_num, row


def read_rows(text: str) -> tuple:
    """(rows, header, unreadable) of a CSV text whose first line names the columns; ``unreadable`` fills as rows are read."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    unreadable: list = []
    return csv_rows(reader, unreadable), reader.fieldnames or [], unreadable


for _format in (ShopifyCsv, MerchantCenterTsv, ApprovedCsv):
    register(_format)
