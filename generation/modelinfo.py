"""What model is configured, without importing torch (the web pages show it)."""
from __future__ import annotations

from django.conf import settings

SD15_HUB_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEMO_NAME = "sdstudio-embedded-products-v3"
RANDOM_NAME = "sdstudio-embedded-sd15-v1"
FULL_NAME = "sdstudio-random-sd15-full-v1"
# SDSTUDIO_MODEL values that select an embedded model instead of a Hub id or a folder -> (size, name).
EMBEDDED_CHOICES = {
    "": ("demo", DEMO_NAME),
    "embedded": ("demo", DEMO_NAME),
    "embedded-random": ("tiny", RANDOM_NAME),
    "embedded-full": ("full", FULL_NAME),
}


def configured() -> str:
    return (settings.SDSTUDIO_MODEL or "").strip()


def embedded_size() -> str | None:
    """'demo', 'tiny' or 'full' when an embedded model is configured, else None."""
    choice = EMBEDDED_CHOICES.get(configured())
    return choice[0] if choice else None


EMBEDDED_DESCRIPTIONS = {
    "demo": "a tiny demonstration model trained on rendered products (SD v1.5's structure at toy size, shipped with "
            "SD Studio): it draws simple product shots, not photographs",
    "tiny": "the embedded model with random weights: its images are noise by design",
    "full": "SD v1.5's full architecture with random weights, for benchmarks: its images are noise",
}


def embedded_description() -> str:
    size = embedded_size()
    return EMBEDDED_DESCRIPTIONS[size] if size else ""


def is_embedded() -> bool:
    return embedded_size() is not None


def model_label() -> str:
    choice = EMBEDDED_CHOICES.get(configured())
    return choice[1] if choice else configured()


def requested_model_id() -> str:
    """Stored on every job (blank for the default embedded model); a worker only runs jobs for its own model."""
    return "" if configured() in ("", "embedded") else configured()


def edge_guidance_available() -> bool:
    """Edge guidance needs a ControlNet: SDSTUDIO_CONTROLNET_MODEL, or the embedded model's own."""
    return is_embedded() or bool((settings.SDSTUDIO_CONTROLNET_MODEL or "").strip())
