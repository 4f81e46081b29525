from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from catalog import formats


class Command(BaseCommand):
    help = (gettext("Write the approved images for the shop in one of its formats (catalog.formats: a Shopify product "
                         "CSV, a Google Merchant Center supplemental feed, ...), with public links under --base-url."))

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help=gettext("File to write ('-' for standard output)."))
        parser.add_argument("--format", choices=[f.name for f in formats.export_formats()], default="shopify",
                            help="; ".join(f"{f.name}: {f.label}" for f in formats.export_formats()))
        parser.add_argument("--base-url", default=None, help=gettext("Where shops reach SD Studio (default: SDSTUDIO_PUBLIC_BASE_URL)."))
        parser.add_argument("--campaign", type=int, default=None, help=gettext("Only this campaign's approved images (its id), in the order of its formats, with its alt text."))
        parser.add_argument("--id-template", default=None, help=gettext("Merchant Center offer id: {sku}, {handle} or {variant_sku}."))

    def handle(self, *args, out: Path, **options):
        base = options["base_url"] or settings.SDSTUDIO_PUBLIC_BASE_URL
        extra = {"id_template": options["id_template"]} if options["id_template"] else {}
        text = formats.export(options["format"], base, campaign=options["campaign"], **extra)
        if str(out) == "-":
            self.stdout.write(text, ending="")
        else:
            out.write_text(text, encoding="utf-8")
            self.stdout.write(gettext("wrote %(out)s (%(value)s rows)") % {"out": out, "value": text.count(chr(10)) - 1})
