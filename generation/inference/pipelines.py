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

from generation import modes
from generation.inference.config import DEMO_INPAINT_NAME, ConfigurationError, InferenceConfig
from generation.inference.embedded import TRAINED_INPAINT_DIR, ensure_embedded_model, replicate_edges
from generation.parameters import SCHEDULERS

logger = logging.getLogger(__name__)

# transformers warns at import about optional image backends SD Studio never uses.
logging.getLogger("transformers").setLevel(logging.ERROR)

@dataclass
class LoadedModel:
    """The text2img pipeline and views of the same modules for the other modes, ready to run.

    img2img is built at load; each mode builds its own view on first use (``Mode.pipeline``), from the very same
    modules (``derive``: ``from_pipe``, no second copy), with the inpainting UNet or the ControlNet it asks for.
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
    config: InferenceConfig = field(default_factory=InferenceConfig)
    safety: Any = None  # safety.SafetyCheck when the model has a checker and it is on
    _fingerprint: dict | None = field(default=None, repr=False)
    _views: dict = field(default_factory=dict, repr=False)

    def model_prompt(self, prompt: str, mode) -> str:
        """What the model is given for a prompt in a mode (generation.reading.given)."""
        from generation import reading

        return reading.given(prompt, embedded_size=self.config.embedded_size, mode=mode)

    def environment(self, mode, *, edge_guidance: bool = False) -> dict:
        """The fingerprint, plus the extra models a job of this mode (a generation.modes.Mode, or its name) used."""
        environment = {**self.fingerprint(), **modes.get(mode).environment(self)}
        if edge_guidance:
            environment["controlnet"] = self._views.get("controlnet_location", "")
        return environment

    def pipeline(self, mode, *, edge_guidance: bool = False):
        """The pipeline of a mode (a generation.modes.Mode, or its name), with a ControlNet for edge guidance; built once."""
        mode = modes.get(mode)
        if edge_guidance and not mode.takes_edge_guidance:
            raise ValueError(f"Edge guidance is not for {mode.name} jobs.")
        key = (mode.name, edge_guidance)
        if key not in self._views:
            self._views[key] = mode.pipeline(self, edge_guidance=edge_guidance)
        return self._views[key]

    def derive(self, class_name: str, **modules):
        """A diffusers pipeline of ``class_name`` on this model's modules (``from_pipe``), with ``modules`` swapped in."""
        import diffusers

        pipe = getattr(diffusers, class_name).from_pipe(self.text2img, **modules)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def inpaint_unet(self):
        """The inpainting checkpoint's 9-channel UNet (the configured one, or the demo model's own), or None to inpaint
        with the model's own UNet."""
        label = self.config.inpaint_label
        if not label:
            return None
        if "inpaint_unet" not in self._views:
            from diffusers import UNet2DConditionModel

            location = str(TRAINED_INPAINT_DIR) if label == DEMO_INPAINT_NAME else label
            try:
                unet = UNet2DConditionModel.from_pretrained(location, subfolder="unet", dtype=self.dtype)
            except OSError as exc:
                if label == DEMO_INPAINT_NAME:
                    raise ConfigurationError(
                        f"The embedded model's inpainting UNet is missing from {TRAINED_INPAINT_DIR} ({exc}). Restore it "
                        "from the repository, train it (python manage.py train_embedded_model --inpainting), or set "
                        "SDSTUDIO_INPAINT_MODEL=none to inpaint with the model's own UNet.") from exc
                raise ConfigurationError(f"Could not load SDSTUDIO_INPAINT_MODEL={location!r}: {exc}") from exc
            self._views["inpaint_unet"] = unet.to(self.device)
        return self._views["inpaint_unet"]

    def controlnet(self):
        """The configured ControlNet, or the embedded model's (``from_unet`` of its UNet), loaded once."""
        if "controlnet" not in self._views:
            from diffusers import ControlNetModel

            location = self.config.controlnet_model
            if location:
                try:
                    net = ControlNetModel.from_pretrained(location, dtype=self.dtype)
                except OSError as exc:
                    raise ConfigurationError(f"Could not load SDSTUDIO_CONTROLNET_MODEL={location!r}: {exc}") from exc
            elif self.config.is_embedded:
                # The embedded ControlNet: the UNet's encoder copied, zero-initialised outputs (seeded, so every
                # worker builds the same one).
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    net = ControlNetModel.from_unet(self.text2img.unet)
                location = "embedded-controlnet"
            else:
                raise ConfigurationError(
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
            "model_revision": self.config.model_revision or ("local" if self.config.is_embedded or Path(self.config.model).is_dir() else "main"),
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "device": self.device,
            "device_name": device_name,
            "dtype": str(self.dtype).removeprefix("torch."),
            "generator_device": "cpu",
            **self.options,
        }


def resolve_device(requested: str = "auto") -> str:
    requested = (requested or "auto").lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigurationError(
            f"SDSTUDIO_DEVICE={requested} but torch sees no CUDA GPU (torch {torch.__version__}). "
            "Install a CUDA build of torch, or set SDSTUDIO_DEVICE=cpu."
        )
    if requested != "cpu" and not requested.startswith("cuda"):
        raise ConfigurationError(f"SDSTUDIO_DEVICE={requested!r} is not one of auto, cpu, cuda, cuda:N.")
    return requested


def resolve_dtype(device: str, requested: str = "auto") -> torch.dtype:
    requested = (requested or "auto").lower()
    choices = {"fp16": torch.float16, "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32}
    if requested == "auto":
        # fp16 on a GPU halves memory and doubles speed; CPUs compute fp16 slowly or not at all.
        return torch.float16 if device.startswith("cuda") else torch.float32
    if requested not in choices:
        raise ConfigurationError(f"SDSTUDIO_DTYPE={requested!r} is not one of auto, fp16, bf16, fp32.")
    return choices[requested]


def model_location(config: InferenceConfig) -> str:
    """The folder or Hub id of the configured model (the embedded models are folders built or shipped locally)."""
    if config.embedded_size:
        return str(ensure_embedded_model(config.model_cache, config.embedded_size))
    return config.model


def model_files(config: InferenceConfig, torch_dtype: torch.dtype, report=None):
    """The folder to load, its commit and weight variant (a Hub id resolved through the Hugging Face cache)."""
    from generation.inference import hub

    return hub.locate(model_location(config), revision=config.model_revision or None,
                      dtype_name=str(torch_dtype).removeprefix("torch."), report=report,
                      skip=() if config.safety_checker else ("safety_checker",))


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


def configure_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # Already set once in this process.
            pass


def load_pipelines(config: InferenceConfig, *, report=None) -> LoadedModel:
    """Load text2img from the configured model and derive img2img from its very modules (no second copy).

    ``report(state, **details)`` hears "downloading" (bytes done/total) and "loading".
    """
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    from generation.inference.safety import SafetyCheck

    configure_threads(config.torch_threads)
    if config.is_embedded:
        # Its tokenizer is byte-level: most prompts pass CLIP's 77 tokens, and diffusers warns on every call.
        import diffusers

        diffusers.utils.logging.set_verbosity_error()
    device = resolve_device(config.device)
    torch_dtype = resolve_dtype(device, config.dtype)
    started = time.perf_counter()
    files = model_files(config, torch_dtype, report)
    if report is not None:
        report("loading")
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if files.variant:
        kwargs["variant"] = files.variant
    checking = files.has_safety_checker and config.safety_checker
    if checking and not (files.components.get("feature_extractor") or [None])[0]:
        logger.warning("%s has a safety checker but no feature extractor: outputs are not checked.", files.folder)
        checking = False
    if files.has_safety_checker and not checking:
        kwargs.update(safety_checker=None, requires_safety_checker=False)  # not even loaded
    try:
        text2img = StableDiffusionPipeline.from_pretrained(files.folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Could not load the model {model_location(config)!r} from {files.folder}: {exc}. Set SDSTUDIO_MODEL to a diffusers "
            "folder or a Hub id that is in the local Hugging Face cache (or allow downloads), or unset it for the embedded model."
        ) from exc
    if config.is_embedded:
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
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        options["deterministic"] = True
    if config.cpu_offload and device.startswith("cuda"):
        text2img.enable_model_cpu_offload()
        options["cpu_offload"] = True
    elif device != "cpu":  # from_pretrained already put the weights on the CPU.
        text2img.to(device)
    if safety is not None:
        safety.checker.to(device)
    if config.channels_last and device.startswith("cuda"):
        text2img.unet.to(memory_format=torch.channels_last)
        options["channels_last"] = True
    if config.attention_slicing:
        text2img.enable_attention_slicing()
        options["attention_slicing"] = True
    if config.vae_tiling:
        text2img.vae.enable_tiling()
        options["vae_tiling"] = True
    if config.vae_slicing:
        text2img.vae.enable_slicing()
        options["vae_slicing"] = True
    if config.compile:
        # Compiled once here; warm_up() runs the served shapes before the worker takes a job.
        text2img.unet = torch.compile(text2img.unet, backend=config.compile_backend, fullgraph=False)
        options["compile"] = config.compile_backend
    text2img.set_progress_bar_config(disable=True)
    img2img = StableDiffusionImg2ImgPipeline.from_pipe(text2img)
    img2img.set_progress_bar_config(disable=True)
    load_seconds = time.perf_counter() - started
    label = config.model_label
    logger.info("Loaded %s on %s (%s) in %.2f s", label, device, torch_dtype, load_seconds)
    return LoadedModel(
        text2img=text2img,
        img2img=img2img,
        scheduler_config=dict(text2img.scheduler.config),
        model_label=label,
        model_id=config.requested_model_id,
        device=device,
        dtype=torch_dtype,
        load_seconds=load_seconds,
        options=options,
        safety=safety,
        config=config,
    )


_loaded: LoadedModel | None = None
_lock = threading.Lock()


def get_pipelines(config: InferenceConfig, report=None) -> LoadedModel:
    """The process-wide pipelines, loaded on first use and kept (the worker loads them at start)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load_pipelines(config, report=report)
        return _loaded


def release_memory() -> None:
    """Return cached GPU memory after a failure (a no-op on the CPU)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_loaded() -> bool:
    return _loaded is not None
