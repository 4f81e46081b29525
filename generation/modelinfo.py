"""What model is configured, without importing torch (the web pages show it)."""
from __future__ import annotations

from django.conf import settings

from generation.embedded import SIZES

SD15_HUB_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"
# SDSTUDIO_MODEL values that select a locally built model instead of a Hub id or a folder.
EMBEDDED_CHOICES = {"": "tiny", "embedded": "tiny", "embedded-full": "full"}


def configured() -> str:
    return (settings.SDSTUDIO_MODEL or "").strip()


def embedded_size() -> str | None:
    """'tiny' or 'full' when an embedded model is configured, else None."""
    return EMBEDDED_CHOICES.get(configured())


def is_embedded() -> bool:
    return embedded_size() is not None


def model_label() -> str:
    size = embedded_size()
    return SIZES[size]["name"] if size else configured()


def requested_model_id() -> str:
    """Stored on every job (blank for the default embedded model); a worker only runs jobs for its own model."""
    return "" if embedded_size() == "tiny" else configured()
