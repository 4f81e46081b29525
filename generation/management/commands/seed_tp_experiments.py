from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from catalog.demo_data import demo_product, photo_for
from catalog.models import Product
from generation import experiments
from generation.management.commands.generate import finish
from sdstudio.localredis import require_sdstudio_command_redis


class Command(BaseCommand):
    help = (
        gettext("Queue the brief's controlled study: 6 text2img runs (steps 15/30/50, guidance 4/7.5/12, Euler a vs "
                     "DDIM) and 3 img2img runs (strength 0.35/0.60/0.85), seed 42, 512x512, on the configured model; plus "
                     "one scene run (scene_run10_keep_product) that keeps the product's pixels while the background "
                     "changes.")
    )

    def add_arguments(self, parser):
        parser.add_argument("--product", help=gettext("SKU (default: the demo headphones, created if absent)."))
        parser.add_argument("--source", type=Path, help=gettext("Source photo for img2img and the scene (default: the product's first photo, or the demo photo)."))
        parser.add_argument("--force", action="store_true", help=gettext("Queue a fresh set even if this study exists."))
        parser.add_argument("--wait", action="store_true", help=gettext("Show a progress bar per job until all finish."))
        parser.add_argument("--timeout", type=float, default=None)

    def handle(self, *args, **options):
        require_sdstudio_command_redis()
        if options["product"]:
            product = Product.objects.filter(sku=options["product"]).first()
            if product is None:
                raise CommandError(gettext("No product with SKU “%(product)s”.") % {"product": options['product']})
            source = product.photos.first()
        else:
            product, source = demo_product()
        if options["source"]:
            if not options["source"].is_file():
                raise CommandError(gettext("%(source)s is not a file.") % {"source": options['source']})
            try:
                source = photo_for(product, options["source"])
            except ValidationError as exc:
                raise CommandError(f"{options['source']}: {' '.join(exc.messages)}") from None
        if source is None:
            raise CommandError(gettext("%(sku)s has no photo for the img2img and scene runs: add one or pass --source PATH.")
                               % {"sku": product.sku})
        experiment, created = experiments.study_seed(product=product, source_photo=source, force=options["force"])
        verb = "queued" if created else gettext("exists (use --force for a fresh set)")
        self.stdout.write(f"experiment {experiment.pk} {verb}: {experiment.name}")
        jobs = list(experiment.jobs.order_by("run_name"))
        for job in jobs:
            self.stdout.write(f"  job {job.pk} {job.run_name} {job.status}")
        if options["wait"]:
            finish(self, [job.pk for job in jobs], timeout=options["timeout"])
