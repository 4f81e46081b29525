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
from generation.inference.embedded import ensure_embedded_model, replicate_edges
from generation.parameters import SCHEDULERS

logger = logging.getLogger(__name__)

# transformers warns at import about optional image backends SD Studio never uses.
logging.getLogger("transformers").setLevel(logging.ERROR)

@dataclass
class LoadedModel:
    """The text2img pipeline and views of the same modules for the other modes, ready to run.

    img2img is built at load; inpainting (scene) and the ControlNet pipelines
    on first use, from the very same modules (``from_pipe``: no second copy).
    """

    text2img: Any
    img2img: Any
    scheduler_config: dict
    model_label: str
    model_id: str
    device: str
    dtype: torch.dtype
    load_seconds: float
    options: dict = field(default_factory=dict)
    safety: Any = None  # safety.SafetyCheck when the model has a checker and it is on
    _fingerprint: dict | None = field(default=None, repr=False)
    _views: dict = field(default_factory=dict, repr=False)

    def environment(self, mode: str, *, edge_guidance: bool = False) -> dict:
        """The fingerprint, plus the extra models a job of this mode used."""
        environment = self.fingerprint()
        if mode == "scene" and (settings.SDSTUDIO_INPAINT_MODEL or "").strip():
            environment["inpaint_model"] = settings.SDSTUDIO_INPAINT_MODEL.strip()
        if edge_guidance:
            environment["controlnet"] = self._views.get("controlnet_location", "")
        return environment

    def pipeline(self, mode: str, *, edge_guidance: bool = False):
        """The pipeline for a mode (text2img, img2img or scene), with a ControlNet for edge guidance."""
        key = (mode, edge_guidance)
        if key not in self._views:
            self._views[key] = self._build(mode, edge_guidance)
        return self._views[key]

    def _build(self, mode: str, edge_guidance: bool):
        import diffusers

        if mode == "text2img" and not edge_guidance:
            return self.text2img
        if mode == "img2img" and not edge_guidance:
            return self.img2img
        if mode not in ("img2img", "scene"):
            raise ValueError(f"Edge guidance is for img2img and scene jobs, not {mode}.")
        base = self.text2img
        inpaint_unet = self.inpaint_unet() if mode == "scene" else None
        extra = {"unet": inpaint_unet} if inpaint_unet is not None else {}
        if edge_guidance:
            cls = diffusers.StableDiffusionControlNetInpaintPipeline if mode == "scene" else diffusers.StableDiffusionControlNetImg2ImgPipeline
            pipe = cls.from_pipe(base, controlnet=self.controlnet(), **extra)
        else:
            pipe = diffusers.StableDiffusionInpaintPipeline.from_pipe(base, **extra)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def inpaint_unet(self):
        """SDSTUDIO_INPAINT_MODEL's 9-channel UNet, or None to inpaint with the model's own UNet."""
        location = (settings.SDSTUDIO_INPAINT_MODEL or "").strip()
        if not location:
            return None
        if "inpaint_unet" not in self._views:
            from diffusers import UNet2DConditionModel

            try:
                unet = UNet2DConditionModel.from_pretrained(location, subfolder="unet", dtype=self.dtype)
            except OSError as exc:
                raise ImproperlyConfigured(f"Could not load SDSTUDIO_INPAINT_MODEL={location!r}: {exc}") from exc
            self._views["inpaint_unet"] = unet.to(self.device)
        return self._views["inpaint_unet"]

    def controlnet(self):
        """SDSTUDIO_CONTROLNET_MODEL, or the embedded model's ControlNet (``from_unet`` of its UNet), loaded once."""
        if "controlnet" not in self._views:
            from diffusers import ControlNetModel

            location = (settings.SDSTUDIO_CONTROLNET_MODEL or "").strip()
            if location:
                try:
                    net = ControlNetModel.from_pretrained(location, dtype=self.dtype)
                except OSError as exc:
                    raise ImproperlyConfigured(f"Could not load SDSTUDIO_CONTROLNET_MODEL={location!r}: {exc}") from exc
            elif modelinfo.is_embedded():
                # The embedded ControlNet: the UNet's encoder copied, zero-initialised outputs (seeded, so every
                # worker builds the same one).
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    net = ControlNetModel.from_unet(self.text2img.unet)
                location = "embedded-controlnet"
            else:
                raise ImproperlyConfigured(
                    "Edge guidance needs a ControlNet: set SDSTUDIO_CONTROLNET_MODEL (e.g. lllyasviel/control_v11p_sd15_canny)."
                )
            self._views["controlnet"] = net.to(self.device, self.dtype)
            self._views["controlnet_location"] = location
        return self._views["controlnet"]

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
    """The folder or Hub id of SDSTUDIO_MODEL (the embedded models are folders built or shipped locally)."""
    size = modelinfo.embedded_size()
    if size:
        return str(ensure_embedded_model(settings.SDSTUDIO_MODEL_CACHE, size))
    return modelinfo.configured()


def model_files(torch_dtype: torch.dtype, report=None):
    """The folder to load, its commit and weight variant (a Hub id resolved through the Hugging Face cache)."""
    from generation.inference import hub

    return hub.locate(model_location(), revision=settings.SDSTUDIO_MODEL_REVISION or None,
                      dtype_name=str(torch_dtype).removeprefix("torch."), report=report,
                      skip=() if settings.SDSTUDIO_SAFETY_CHECKER else ("safety_checker",))


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


def load_pipelines(*, device: str | None = None, dtype: str | None = None, report=None) -> LoadedModel:
    """Load text2img from SDSTUDIO_MODEL and derive img2img from its very modules (no second copy).

    ``report(state, **details)`` hears "downloading" (bytes done/total) and "loading".
    """
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    from generation.inference.safety import SafetyCheck

    configure_threads()
    if modelinfo.is_embedded():
        # Its tokenizer is byte-level: most prompts pass CLIP's 77 tokens, and diffusers warns on every call.
        import diffusers

        diffusers.utils.logging.set_verbosity_error()
    device = resolve_device(device)
    torch_dtype = resolve_dtype(device, dtype)
    started = time.perf_counter()
    files = model_files(torch_dtype, report)
    if report is not None:
        report("loading")
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if files.variant:
        kwargs["variant"] = files.variant
    checking = files.has_safety_checker and settings.SDSTUDIO_SAFETY_CHECKER
    if checking and not (files.components.get("feature_extractor") or [None])[0]:
        logger.warning("%s has a safety checker but no feature extractor: outputs are not checked.", files.folder)
        checking = False
    if files.has_safety_checker and not checking:
        kwargs.update(safety_checker=None, requires_safety_checker=False)  # not even loaded
    try:
        text2img = StableDiffusionPipeline.from_pretrained(files.folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"Could not load the model {model_location()!r} from {files.folder}: {exc}. Set SDSTUDIO_MODEL to a diffusers "
            "folder or a Hub id that is in the local Hugging Face cache (or allow downloads), or unset it for the embedded model."
        ) from exc
    if modelinfo.is_embedded():
        replicate_edges(text2img.vae)
    options: dict[str, Any] = {"attention": "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "classic"}
    if files.commit:
        options["model_commit"] = files.commit
    if files.variant:
        options["variant"] = files.variant
    safety = None
    if files.has_safety_checker:
        options["safety_checker"] = "on" if checking else "off"
    if checking:
        # Out of the pipeline (it would blacken flagged images), run by the runner on every output instead.
        safety = SafetyCheck(text2img.safety_checker, text2img.feature_extractor, device, torch_dtype)
        text2img.register_modules(safety_checker=None)
        text2img.register_to_config(requires_safety_checker=False)
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
    if safety is not None:
        safety.checker.to(device)
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
        safety=safety,
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


def get_pipelines(report=None) -> LoadedModel:
    """The process-wide pipelines, loaded on first use and kept (the worker loads them at start)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load_pipelines(report=report)
        return _loaded


def release_memory() -> None:
    """Return cached GPU memory after a failure (a no-op on the CPU)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_loaded() -> bool:
    return _loaded is not None
