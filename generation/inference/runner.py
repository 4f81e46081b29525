"""Run generations on loaded pipelines. Pure: JobSpecs in, images out; no Django model, no service, no database."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, make_dataclass
from typing import Any, Callable

import torch
from PIL import Image, ImageOps

from generation import parameters as P
from generation import scene
from generation.inference.deepcache import WARMUP_FRACTION, DeepCache
from generation.inference.pipelines import LoadedModel, make_generator, make_scheduler


class JobCanceled(Exception):
    """Raised from the step callback when a cancel was asked for."""


# What the runner needs to make one image: every job parameter (generation.parameters), the source image and,
# for scene jobs, the product's mask on it (255 = kept).
JobSpec = make_dataclass(
    "JobSpec",
    [(p.name, Any, field(default=p.default if p.modes == P.ALL_MODES else None)) for p in P.PARAMETERS]
    + [("source_image", Any, field(default=None)), ("mask_image", Any, field(default=None))],
    frozen=True,
)


@dataclass
class RunResult:
    image: Image.Image
    inference_seconds: float
    steps_run: int
    placed: scene.Placed | None = None  # scene: the product on the canvas, and its mask
    control_image: Image.Image | None = None  # edge guidance: the Canny map the ControlNet saw
    safety: Any = None  # safety.Verdict when the model's safety checker ran on the image

    @property
    def seconds_per_step(self) -> float:
        return self.inference_seconds / max(1, self.steps_run)


StepCallback = Callable[[int, int], None]


def run(spec: JobSpec, loaded: LoadedModel, on_step: StepCallback | None = None) -> RunResult:
    """Generate one image. ``on_step(step, total)`` is called after each denoising step and may raise JobCanceled."""
    return run_batch([spec], loaded, on_step)[0]


def run_batch(specs: list[JobSpec], loaded: LoadedModel, on_step: StepCallback | None = None) -> list[RunResult]:
    """Generate several images in one pipeline call, one CPU generator per image (same seeds, same noise).

    The specs must agree on the batch keys; prompts, negative prompts, seeds and sources may differ.
    """
    first = specs[0]
    if any(getattr(spec, key) != getattr(first, key) for spec in specs for key in P.BATCH_KEYS):
        raise ValueError(f"A batch must share {', '.join(P.BATCH_KEYS)}.")
    scheduler = make_scheduler(first.scheduler, loaded.scheduler_config)
    edge_guidance = first.controlnet_conditioning_scale is not None
    pipe = loaded.pipeline(first.mode, edge_guidance=edge_guidance)
    # The worker runs one job (or batch) at a time, so the shared pipeline's scheduler can be swapped per call.
    pipe.scheduler = scheduler
    steps_run = 0

    def callback(pipeline, step_index: int, timestep, callback_kwargs: dict) -> dict:
        nonlocal steps_run
        steps_run = step_index + 1
        if on_step is not None:
            on_step(steps_run, pipeline.num_timesteps)
        return callback_kwargs

    single = len(specs) == 1
    negatives = [spec.negative_prompt or "" for spec in specs]
    kwargs = dict(
        prompt=first.prompt if single else [spec.prompt for spec in specs],
        negative_prompt=(negatives[0] or None) if single else (negatives if any(negatives) else None),
        num_inference_steps=first.num_inference_steps,
        guidance_scale=first.guidance_scale,
        generator=make_generator(first.seed) if single else [make_generator(spec.seed) for spec in specs],
        callback_on_step_end=callback,
        output_type="pil",
    )
    placed: list = [None] * len(specs)
    controls: list = [None] * len(specs)
    if first.mode in P.SOURCE_MODES and any(spec.source_image is None for spec in specs):
        raise ValueError(f"{first.mode} needs a source image.")
    if first.mode == "img2img":
        if first.strength is None:
            raise ValueError("img2img needs a strength.")
        sources = [scene.prepare_source(spec.source_image, spec.width, spec.height) for spec in specs]
        kwargs.update(image=sources[0] if single else sources, strength=first.strength)
        controls = [scene.canny(source) for source in sources] if edge_guidance else controls
    elif first.mode in P.MASK_MODES:
        if any(spec.mask_image is None for spec in specs):
            raise ValueError("A scene needs the product's mask.")
        placed = [scene.place(spec.source_image, spec.mask_image, (spec.width, spec.height),
                              scale=spec.product_scale, x=spec.product_x, y=spec.product_y) for spec in specs]
        # diffusers repaints where its mask is white: everything but the product. strength 1.0: the scene starts from noise.
        repaint = [ImageOps.invert(p.mask) for p in placed]
        canvases = [p.canvas for p in placed]
        kwargs.update(image=canvases[0] if single else canvases, mask_image=repaint[0] if single else repaint,
                      width=first.width, height=first.height, strength=1.0)
        controls = [scene.canny(canvas) for canvas in canvases] if edge_guidance else controls
    else:
        kwargs.update(width=first.width, height=first.height)
    if edge_guidance:
        kwargs.update(control_image=controls[0] if single else controls,
                      controlnet_conditioning_scale=float(first.controlnet_conditioning_scale))
    started = time.perf_counter()
    draft = DeepCache(pipe.unet, warmup=round(first.num_inference_steps * WARMUP_FRACTION)) if first.speed == "draft" else None
    with torch.inference_mode(), (draft or contextlib.nullcontext()):
        output = pipe(**kwargs)
    elapsed = time.perf_counter() - started
    images = [scene.composite(image, where) if where is not None else image for image, where in zip(output.images, placed)]
    # The safety checker judges the image as delivered (after the product is put back) and never alters it.
    verdicts = loaded.safety(images) if loaded.safety is not None else [None] * len(images)
    return [
        RunResult(image=image, inference_seconds=elapsed, steps_run=steps_run, placed=where, control_image=control, safety=verdict)
        for image, where, control, verdict in zip(images, placed, controls, verdicts)
    ]


def warm_up(loaded: LoadedModel, shapes: list[tuple[int, int]]) -> float:
    """Run two steps of every mode at each served shape (compilation, kernel autotuning) and return seconds."""
    started = time.perf_counter()
    for width, height in shapes:
        for mode in P.MODES:
            source = mode in P.SOURCE_MODES
            mask = Image.new("L", (width, height), 0)
            mask.paste(255, (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
            values = {p.name: p.default for p in P.PARAMETERS if mode in p.modes and p.default is not None}
            values.update(mode=mode, prompt="warm-up", seed=0, num_inference_steps=2, width=width, height=height)
            if mode in P.BY_NAME["strength"].modes:
                values["strength"] = 1.0
            spec = JobSpec(**values, source_image=Image.new("RGB", (width, height), (128, 128, 128)) if source else None,
                           mask_image=mask if mode in P.MASK_MODES else None)
            run(spec, loaded)
    return time.perf_counter() - started
