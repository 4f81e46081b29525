from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.services import IMPORT_COLUMNS, catalog_import


class Command(BaseCommand):
    help = (
        "Import products from a CSV with columns sku, name, description, category and an optional photo "
        "(a file path, relative to the CSV). Each row lands whole or not at all; errors are listed per line."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, csv_file: Path, **options):
        if not csv_file.is_file():
            raise CommandError(f"{csv_file} is not a file.")
        with csv_file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = {name.strip().lower() for name in reader.fieldnames or []}
            if not {"sku", "name"} <= header:
                raise CommandError(f"The first line must name the columns; sku and name are required (known: {', '.join(IMPORT_COLUMNS)}).")
            report = catalog_import(rows=((reader.line_num, row) for row in reader), base_dir=csv_file.parent)
        for line, message in report["errors"]:
            self.stderr.write(f"line {line}: {message}")
        self.stdout.write(f"created {report['created']}, updated {report['updated']}, rejected {len(report['errors'])}")
        if report["errors"]:
            raise CommandError(f"{len(report['errors'])} row(s) rejected; the other rows were imported.")
