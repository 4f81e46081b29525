from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from generation import campaigns, services
from sdstudio.localredis import require_sdstudio_command_redis


class Command(BaseCommand):
    help = (gettext("Enqueue queued jobs that Redis lost; retry or fail running jobs whose worker stopped answering; feed"
                         " active campaigns."))

    def handle(self, *args, **options):
        require_sdstudio_command_redis()
        counts = services.jobs_reconcile(grace_seconds=0)
        counts["campaign jobs fed"] = campaigns.feed_all()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
