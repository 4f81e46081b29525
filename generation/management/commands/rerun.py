from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from generation import services
from generation.management.commands.generate import finish
from generation.models import GenerationJob
from sdstudio.localredis import require_sdstudio_command_redis


class Command(BaseCommand):
    help = gettext("Re-run a job with its identical parameters, seed and model; report whether the pixels came out "
                        "identical.")

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)
        parser.add_argument("--as", dest="username", default=None,
                            help=gettext("Act as this user (their permissions apply); default: the operator at the command line."))
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--timeout", type=float, default=None)

    def handle(self, *args, job_id: int, **options):
        require_sdstudio_command_redis()
        job = GenerationJob.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"No job {job_id}.")
        user = None  # the command line acts as an operator with shell access
        if options["username"]:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(gettext("No user “%(username)s”.") % {"username": options['username']})
        try:
            rerun = services.job_rerun(job=job, user=user)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        self.stdout.write(gettext("job %(pk)s (re-run of %(pk2)s, seed %(seed)s)")
                          % {"pk": rerun.pk, "pk2": job.pk, "seed": rerun.seed})
        if options["wait"]:
            finish(self, [rerun.pk], timeout=options["timeout"])
            rerun.refresh_from_db()
            if rerun.rerun_result == "identical":
                self.stdout.write("identical: every pixel matches the original")
            else:
                self.stdout.write(f"drifted: max pixel difference {rerun.rerun_max_pixel_diff}, PSNR {rerun.rerun_psnr} dB")
