"""What the inference package is told: one plain object, built once by the worker (or a command) from its settings.

Nothing under ``generation.inference`` reads Django's settings or imports Django; ``generation.modelinfo``
builds an ``InferenceConfig`` from ``SDSTUDIO_*`` and hands it over. The embedded models' names live here,
because both sides need them: the web pages (the configured model's label) and the loader (what to build).
Importing this module imports no torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sdstudio.words import gettext_noop


class ConfigurationError(Exception):
    """The configured model, device or option cannot be used: the message says what to set."""


SD15_HUB_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEMO_NAME = "sdstudio-embedded-products-v5"
RANDOM_NAME = "sdstudio-embedded-sd15-v1"
FULL_NAME = "sdstudio-random-sd15-full-v1"
# The demo model's inpainting UNet (embedded.TRAINED_INPAINT_DIR): scene jobs on the demo model paint with it.
DEMO_INPAINT_NAME = "sdstudio-embedded-inpainting-v2"
# SDSTUDIO_INPAINT_MODEL=none: scenes inpaint with the model's own UNet (how scenes on the demo model ran before it).
OWN_UNET = "none"
# SDSTUDIO_MODEL values that select an embedded model instead of a Hub id or a folder -> (size, name).
EMBEDDED_CHOICES = {
    "": ("demo", DEMO_NAME),
    "embedded": ("demo", DEMO_NAME),
    "embedded-random": ("tiny", RANDOM_NAME),
    "embedded-full": ("full", FULL_NAME),
}
EMBEDDED_DESCRIPTIONS = {  # marked for the catalogue; pages translate them (generation.modelinfo)
    "demo": gettext_noop("a tiny demonstration model trained on rendered products (SD v1.5's structure at toy size, shipped with "
                         "SD Studio): it draws simple product shots, not photographs"),
    "tiny": gettext_noop("the embedded model with random weights: its images are noise by design"),
    "full": gettext_noop("SD v1.5's full architecture with random weights, for benchmarks: its images are noise"),
}


@dataclass(frozen=True)
class InferenceConfig:
    model: str = ""  # a Hub id, a diffusers folder, or one of EMBEDDED_CHOICES
    model_revision: str = ""
    model_cache: Path = Path("var/models")  # where random embedded models are built
    inpaint_model: str = ""  # scene: a 9-channel inpainting UNet's checkpoint; "" = the default (inpaint_label)
    controlnet_model: str = ""  # edge guidance; "" = the embedded model's own (only the embedded models have one)
    device: str = "auto"
    dtype: str = "auto"
    safety_checker: bool = True
    deterministic: bool = False
    cpu_offload: bool = False
    channels_last: bool = True
    attention_slicing: bool = False
    vae_tiling: bool = False
    vae_slicing: bool = False
    compile: bool = False
    compile_backend: str = "inductor"
    torch_threads: int = 0  # 0 = torch's own choice
    warmup_shapes: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self):
        for name in ("model", "model_revision", "inpaint_model", "controlnet_model"):
            object.__setattr__(self, name, (getattr(self, name) or "").strip())

    @property
    def embedded_size(self) -> str | None:
        """'demo', 'tiny' or 'full' when an embedded model is configured, else None."""
        choice = EMBEDDED_CHOICES.get(self.model)
        return choice[0] if choice else None

    @property
    def is_embedded(self) -> bool:
        return self.embedded_size is not None

    @property
    def embedded_description(self) -> str:
        return EMBEDDED_DESCRIPTIONS[self.embedded_size] if self.is_embedded else ""

    @property
    def model_label(self) -> str:
        choice = EMBEDDED_CHOICES.get(self.model)
        return choice[1] if choice else self.model

    @property
    def inpaint_label(self) -> str:
        """The inpainting UNet scene jobs paint with: SDSTUDIO_INPAINT_MODEL, else the demo model's own inpainting
        UNet on the demo model; "" for the model's own UNet (any other model unless told, or OWN_UNET)."""
        if self.inpaint_model:
            return "" if self.inpaint_model.lower() == OWN_UNET else self.inpaint_model
        return DEMO_INPAINT_NAME if self.embedded_size == "demo" else ""

    @property
    def requested_model_id(self) -> str:
        """Stored on every job (blank for the default embedded model); a worker only runs jobs for its own model."""
        return "" if self.model in ("", "embedded") else self.model

    @property
    def edge_guidance_available(self) -> bool:
        """Edge guidance needs a ControlNet: the configured one, or the embedded model's own."""
        return self.is_embedded or bool(self.controlnet_model)


def parse_shapes(value: str) -> tuple[tuple[int, int], ...]:
    """"512x512,768x512" -> ((512, 512), (768, 512)) (width x height)."""
    shapes = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            width, height = (int(n) for n in item.lower().split("x"))
        except ValueError:
            raise ConfigurationError(f"SDSTUDIO_WARMUP_SHAPES: {item!r} is not WIDTHxHEIGHT (e.g. 512x512).") from None
        shapes.append((width, height))
    return tuple(shapes)
