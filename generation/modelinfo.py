"""What model is configured, without importing torch (the web pages show it)."""
from __future__ import annotations

from django.conf import settings

from generation.embedded import EMBEDDED_NAME

SD15_HUB_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"


def is_embedded() -> bool:
    return not settings.SDSTUDIO_MODEL


def model_label() -> str:
    return EMBEDDED_NAME if is_embedded() else settings.SDSTUDIO_MODEL


def requested_model_id() -> str:
    """Stored on every job: blank for the embedded model, the id or folder otherwise."""
    return settings.SDSTUDIO_MODEL
