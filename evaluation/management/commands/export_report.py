from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext

from evaluation import reports
from generation.models import Experiment
from sdstudio.textsafe import parse_id


class Command(BaseCommand):
    help = gettext("Write an experiment's report (report.md, grids, outputs with their metadata) as a zip.")

    def add_arguments(self, parser):
        parser.add_argument("experiment", help=gettext("Experiment id or exact name."))
        parser.add_argument("--out", type=Path, default=Path("."), help=gettext("Folder for the zip (default: here)."))
        parser.add_argument("--language", choices=[code for code, _ in settings.LANGUAGES], default=settings.LANGUAGE_CODE,
                            help=gettext("The report's language (default: %(default)s); fr writes the brief's rapport.md in French."))

    def handle(self, *args, **options):
        key = options["experiment"]
        experiment_id = parse_id(key)
        experiment = (Experiment.objects.filter(pk=experiment_id).first() if experiment_id is not None
                      else Experiment.objects.filter(name=key).first())
        if experiment is None:
            raise CommandError(gettext("No experiment “%(key)s”; `python manage.py seed_tp_experiments` creates the brief's study.")
                               % {"key": key})
        options["out"].mkdir(parents=True, exist_ok=True)
        target = options["out"] / f"{reports.report_basename(experiment)}.zip"
        with translation.override(options["language"]):
            target.write_bytes(reports.report_zip(experiment))
        self.stdout.write(str(target))
