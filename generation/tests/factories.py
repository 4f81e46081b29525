from __future__ import annotations

from django.db import transaction

from conftest import TINY
from generation import services


def queue_job(**changes):
    """A tiny job created through the service, committed (so it is enqueued like a user's)."""
    params = dict(prompt="sleek black wireless headphones", seed=42, guidance_scale=7.5, scheduler="euler_a", **TINY)
    params.update(changes)
    with transaction.atomic():
        return services.job_create(**params)
