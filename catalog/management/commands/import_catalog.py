from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from catalog import formats
from catalog.services import IMPORT_COLUMNS, catalog_import

FIELD_LIMIT = 1_000_000  # characters in one CSV field; longer ones are a row error, not a crash


def read_text(path: Path, encoding: str | None) -> str:
    """The file's text in the encoding asked for, or the one its BOM names, or UTF-8; a clear error otherwise."""
    raw = path.read_bytes()
    if encoding is None:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except LookupError:
        raise CommandError(gettext("Unknown encoding “%(encoding)s”; try utf-8, utf-16, cp1252 or latin-1.")
                           % {"encoding": encoding}) from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CommandError(gettext("%(name)s is not valid %(encoding)s (line %(line)s, byte %(start)s). If it was saved by Excel or an "
                                   "older tool, pass --encoding cp1252 (or latin-1, utf-16).") % {"name": path.name, "encoding": encoding, "line": line, "start": exc.start}) from None


class Command(BaseCommand):
    help = (
        gettext("Import products from a CSV with columns sku, name, description, category and an optional photo (a "
                     "file path inside the CSV's folder). Each row lands whole or not at all; errors are listed per line.")
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)
        parser.add_argument("--encoding", default=None, help=gettext("Default: UTF-8, or UTF-16 when the file starts with its BOM."))
        parser.add_argument("--format", choices=("auto", "sdstudio", "shopify"), default="auto",
                            help=gettext("sdstudio (sku, name, ...), shopify (Shopify's product CSV); auto: from the header."))
        parser.add_argument("--no-images", action="store_true", help=gettext("Shopify: do not fetch the Image Src links."))

    def handle(self, *args, csv_file: Path, **options):
        if not csv_file.is_file():
            raise CommandError(gettext("%(csv_file)s is not a file.") % {"csv_file": csv_file})
        csv.field_size_limit(FIELD_LIMIT)
        text = read_text(csv_file, options["encoding"])
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if options["format"] == "shopify" or (options["format"] == "auto" and formats.detect(reader.fieldnames or []) is not None):
            return self.import_shopify(text, fetch_images=not options["no_images"])
        header = {name.strip().lower() for name in reader.fieldnames or []}
        if not {"sku", "name"} <= header:
            raise CommandError(gettext("The first line must name the columns; sku and name are required (known: %(join)s).")
                               % {"join": ', '.join(IMPORT_COLUMNS)})
        unreadable: list = []
        report = catalog_import(rows=formats.csv_rows(reader, unreadable), base_dir=csv_file.parent)
        errors = sorted(report["errors"] + unreadable)
        for line, message in errors:
            self.stderr.write(f"line {line}: {message}")
        self.stdout.write(f"created {report['created']}, updated {report['updated']}, rejected {len(errors)}")
        if errors:
            raise CommandError(gettext("%(count)s row(s) rejected; the other rows were imported.") % {"count": len(errors)})

    def import_shopify(self, text: str, *, fetch_images: bool) -> None:
        from tqdm import tqdm

        rows, header, unreadable = formats.read_rows(text)
        shop_format = formats.detect(header)
        if shop_format is None:
            raise CommandError(gettext("This is not a Shopify product CSV: the first line must name Handle and Title columns."))
        bar = tqdm(unit="product", desc="Importing", file=self.stderr._out, disable=not self.stderr.isatty())

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = shop_format.import_rows(rows, fetch_images=fetch_images, progress=progress)
        report.errors += unreadable
        bar.close()
        for line, message in report.warnings:
            self.stderr.write(f"line {line}: warning: {message}")
        for line, message in sorted(report.errors):
            self.stderr.write(f"line {line}: {message}")
        self.stdout.write(f"created {report.created}, updated {report.updated}, variants {report.variants}, "
                          f"images {report.images}, errors {len(report.errors)}")
        if report.errors:
            raise CommandError(gettext("%(count)s row(s) not imported; the other products were.") % {"count": len(report.errors)})
