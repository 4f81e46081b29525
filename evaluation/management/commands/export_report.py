from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation import reports
from generation.models import Experiment
from sdstudio.textsafe import parse_id


class Command(BaseCommand):
    help = "Write an experiment's report (report.md, grids, outputs with their metadata) as a zip."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="Experiment id or exact name.")
        parser.add_argument("--out", type=Path, default=Path("."), help="Folder for the zip (default: here).")

    def handle(self, *args, **options):
        key = options["experiment"]
        experiment_id = parse_id(key)
        experiment = (Experiment.objects.filter(pk=experiment_id).first() if experiment_id is not None
                      else Experiment.objects.filter(name=key).first())
        if experiment is None:
            raise CommandError(f"No experiment {key!r}; `python manage.py seed_tp_experiments` creates the brief's study.")
        options["out"].mkdir(parents=True, exist_ok=True)
        target = options["out"] / f"{reports.report_basename(experiment)}.zip"
        target.write_bytes(reports.report_zip(experiment))
        self.stdout.write(str(target))
