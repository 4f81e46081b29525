"""Load and cache the diffusers pipelines (the brief's exercise 2, done once per process).

Only the worker and the commands that generate import this module: it imports
torch and diffusers, which the web process never loads.
"""
from __future__ import annotations

import logging
import platform
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from generation import modelinfo
from generation.inference.embedded import ensure_embedded_model
from generation.parameters import SCHEDULERS

logger = logging.getLogger(__name__)

# transformers warns at import about optional image backends SD Studio never uses.
logging.getLogger("transformers").setLevel(logging.ERROR)

@dataclass
class LoadedModel:
    """The text2img pipeline and an img2img view of the same modules, ready to run."""

    text2img: Any
    img2img: Any
    scheduler_config: dict
    model_label: str
    model_id: str
    device: str
    dtype: torch.dtype
    load_seconds: float
    options: dict = field(default_factory=dict)
    _fingerprint: dict | None = field(default=None, repr=False)

    def fingerprint(self) -> dict:
        """What a re-run must match to promise the same pixels (worked out once: it asks the OS for the CPU name)."""
        if self._fingerprint is None:
            self._fingerprint = self._work_out_fingerprint()
        return dict(self._fingerprint)

    def _work_out_fingerprint(self) -> dict:
        import diffusers
        import transformers

        device_name = torch.cuda.get_device_name(0) if self.device.startswith("cuda") else platform.processor() or platform.machine()
        return {
            "model": self.model_label,
            "model_revision": settings.SDSTUDIO_MODEL_REVISION or ("local" if modelinfo.is_embedded() or Path(modelinfo.configured()).is_dir() else "main"),
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "device": self.device,
            "device_name": device_name,
            "dtype": str(self.dtype).removeprefix("torch."),
            "generator_device": "cpu",
            **self.options,
        }


def resolve_device(requested: str | None = None) -> str:
    requested = (requested or settings.SDSTUDIO_DEVICE or "auto").lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ImproperlyConfigured(
            f"SDSTUDIO_DEVICE={requested} but torch sees no CUDA GPU (torch {torch.__version__}). "
            "Install a CUDA build of torch, or set SDSTUDIO_DEVICE=cpu."
        )
    if requested != "cpu" and not requested.startswith("cuda"):
        raise ImproperlyConfigured(f"SDSTUDIO_DEVICE={requested!r} is not one of auto, cpu, cuda, cuda:N.")
    return requested


def resolve_dtype(device: str, requested: str | None = None) -> torch.dtype:
    requested = (requested or settings.SDSTUDIO_DTYPE or "auto").lower()
    choices = {"fp16": torch.float16, "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32}
    if requested == "auto":
        # fp16 on a GPU halves memory and doubles speed; CPUs compute fp16 slowly or not at all.
        return torch.float16 if device.startswith("cuda") else torch.float32
    if requested not in choices:
        raise ImproperlyConfigured(f"SDSTUDIO_DTYPE={requested!r} is not one of auto, fp16, bf16, fp32.")
    return choices[requested]


def model_location() -> str:
    """The folder or Hub id handed to from_pretrained."""
    size = modelinfo.embedded_size()
    if size:
        return str(ensure_embedded_model(settings.SDSTUDIO_MODEL_CACHE, size))
    return modelinfo.configured()


def make_scheduler(slug: str, base_config: dict):
    import diffusers

    try:
        cls = getattr(diffusers, SCHEDULERS[slug].diffusers_class)
    except KeyError:
        raise ValueError(f"Unknown scheduler {slug!r}; choose one of {', '.join(SCHEDULERS)}.") from None
    return cls.from_config(base_config)


def make_generator(seed: int) -> torch.Generator:
    """A fresh CPU generator per image: the same seed gives the same noise on any device."""
    return torch.Generator("cpu").manual_seed(int(seed))


def configure_threads() -> None:
    threads = settings.SDSTUDIO_TORCH_THREADS
    if threads > 0:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # Already set once in this process.
            pass


def load_pipelines(*, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """Load text2img from SDSTUDIO_MODEL and derive img2img from its very modules (no second copy)."""
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    configure_threads()
    if modelinfo.is_embedded():
        # Its tokenizer is byte-level: most prompts pass CLIP's 77 tokens, and diffusers warns on every call.
        import diffusers

        diffusers.utils.logging.set_verbosity_error()
    device = resolve_device(device)
    torch_dtype = resolve_dtype(device, dtype)
    location = model_location()
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if settings.SDSTUDIO_MODEL_REVISION:
        kwargs["revision"] = settings.SDSTUDIO_MODEL_REVISION
    try:
        text2img = StableDiffusionPipeline.from_pretrained(location, **kwargs)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Could not load the model {location!r}: {exc}. Set SDSTUDIO_MODEL to a diffusers folder or a Hub id "
            "that is in the local Hugging Face cache (or allow downloads), or unset it for the embedded model."
        ) from exc
    options: dict[str, Any] = {"attention": "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "classic"}
    if settings.SDSTUDIO_DETERMINISTIC:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        options["deterministic"] = True
    if settings.SDSTUDIO_CPU_OFFLOAD and device.startswith("cuda"):
        text2img.enable_model_cpu_offload()
        options["cpu_offload"] = True
    elif device != "cpu":  # from_pretrained already put the weights on the CPU.
        text2img.to(device)
    if settings.SDSTUDIO_CHANNELS_LAST and device.startswith("cuda"):
        text2img.unet.to(memory_format=torch.channels_last)
        options["channels_last"] = True
    if settings.SDSTUDIO_ATTENTION_SLICING:
        text2img.enable_attention_slicing()
        options["attention_slicing"] = True
    if settings.SDSTUDIO_VAE_TILING:
        text2img.vae.enable_tiling()
        options["vae_tiling"] = True
    if settings.SDSTUDIO_VAE_SLICING:
        text2img.vae.enable_slicing()
        options["vae_slicing"] = True
    if settings.SDSTUDIO_COMPILE:
        # Compiled once here; warm_up() runs the served shapes before the worker takes a job.
        text2img.unet = torch.compile(text2img.unet, backend=settings.SDSTUDIO_COMPILE_BACKEND, fullgraph=False)
        options["compile"] = settings.SDSTUDIO_COMPILE_BACKEND
    text2img.set_progress_bar_config(disable=True)
    img2img = StableDiffusionImg2ImgPipeline.from_pipe(text2img)
    img2img.set_progress_bar_config(disable=True)
    load_seconds = time.perf_counter() - started
    label = modelinfo.model_label()
    logger.info("Loaded %s on %s (%s) in %.2f s", label, device, torch_dtype, load_seconds)
    return LoadedModel(
        text2img=text2img,
        img2img=img2img,
        scheduler_config=dict(text2img.scheduler.config),
        model_label=label,
        model_id=modelinfo.requested_model_id(),
        device=device,
        dtype=torch_dtype,
        load_seconds=load_seconds,
        options=options,
    )


def parse_shapes(value: str) -> list[tuple[int, int]]:
    """"512x512,768x512" -> [(512, 512), (768, 512)] (width x height)."""
    shapes = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            width, height = (int(n) for n in item.lower().split("x"))
        except ValueError:
            raise ImproperlyConfigured(f"SDSTUDIO_WARMUP_SHAPES: {item!r} is not WIDTHxHEIGHT (e.g. 512x512).") from None
        shapes.append((width, height))
    return shapes


_loaded: LoadedModel | None = None
_lock = threading.Lock()


def get_pipelines() -> LoadedModel:
    """The process-wide pipelines, loaded on first use and kept (the worker loads them at start)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load_pipelines()
        return _loaded


def release_memory() -> None:
    """Return cached GPU memory after a failure (a no-op on the CPU)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_loaded() -> bool:
    return _loaded is not None
