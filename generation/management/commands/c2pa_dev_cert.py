from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from sdstudio import credentials


class Command(BaseCommand):
    help = (gettext("Create a development CA and C2PA signer certificate (ES256) under var/c2pa, for signing outputs' "
                         "Content Credentials on a development machine. Verifiers report it as valid but untrusted; production"
                         " uses SDSTUDIO_C2PA_CERT and SDSTUDIO_C2PA_KEY."))

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None, help="Folder (default: SDSTUDIO_C2PA_DEV_DIR, var/c2pa).")
        parser.add_argument("--force", action="store_true", help=gettext("Replace an existing development certificate."))

    def handle(self, *args, **options):
        ca, chain, key = credentials.make_dev_cert(options["out"], force=options["force"])
        self.stdout.write(gettext("CA certificate:      %(ca)s\nsigner chain (PEM):  %(chain)s\nsigner key (PEM):    %(key)s")
                          % {"ca": ca, "chain": chain, "key": key})
        self.stdout.write(gettext("Development settings sign with it on their own; to use it elsewhere set SDSTUDIO_C2PA_CERT=%(chain)s"
                                  " SDSTUDIO_C2PA_KEY=%(key)s.") % {"chain": chain, "key": key})
