"""The configured model and inference options, from Django's settings (the web pages show them; workers load them).

``inference_config()`` is the one place SDSTUDIO_* settings become the plain ``InferenceConfig`` the inference
package receives. Imports no torch.
"""
from __future__ import annotations

from django.conf import settings

from generation.inference.config import EMBEDDED_CHOICES, SD15_HUB_ID, InferenceConfig, parse_shapes  # noqa: F401 (pages, services)


def inference_config() -> InferenceConfig:
    return InferenceConfig(
        model=settings.SDSTUDIO_MODEL,
        model_revision=settings.SDSTUDIO_MODEL_REVISION,
        model_cache=settings.SDSTUDIO_MODEL_CACHE,
        inpaint_model=settings.SDSTUDIO_INPAINT_MODEL,
        controlnet_model=settings.SDSTUDIO_CONTROLNET_MODEL,
        device=settings.SDSTUDIO_DEVICE or "auto",
        dtype=settings.SDSTUDIO_DTYPE or "auto",
        safety_checker=settings.SDSTUDIO_SAFETY_CHECKER,
        deterministic=settings.SDSTUDIO_DETERMINISTIC,
        cpu_offload=settings.SDSTUDIO_CPU_OFFLOAD,
        channels_last=settings.SDSTUDIO_CHANNELS_LAST,
        attention_slicing=settings.SDSTUDIO_ATTENTION_SLICING,
        vae_tiling=settings.SDSTUDIO_VAE_TILING,
        vae_slicing=settings.SDSTUDIO_VAE_SLICING,
        compile=settings.SDSTUDIO_COMPILE,
        compile_backend=settings.SDSTUDIO_COMPILE_BACKEND,
        torch_threads=settings.SDSTUDIO_TORCH_THREADS,
        warmup_shapes=parse_shapes(settings.SDSTUDIO_WARMUP_SHAPES),
    )


def _model() -> InferenceConfig:
    """Just the model's part of the configuration (pages read it on every request: nothing that can fail)."""
    return InferenceConfig(model=settings.SDSTUDIO_MODEL, controlnet_model=settings.SDSTUDIO_CONTROLNET_MODEL)


def configured() -> str:
    return _model().model


def embedded_size() -> str | None:
    return _model().embedded_size


def embedded_description() -> str:
    """What the embedded model is, in the active language ("" for another model)."""
    from sdstudio.words import gettext

    description = _model().embedded_description
    return gettext(description) if description else ""


def is_embedded() -> bool:
    return _model().is_embedded


def model_label() -> str:
    return _model().model_label


def requested_model_id() -> str:
    return _model().requested_model_id


def edge_guidance_available() -> bool:
    return _model().edge_guidance_available
