"""Run generations on loaded pipelines. Pure: JobSpecs in, images out; no Django, no service, no database.

One code path for every mode: the mode (generation.modes) prepares its inputs, builds its pipeline view and
finishes its images.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, make_dataclass
from typing import Any, Callable

import torch
from PIL import Image

from generation import modes, scene
from generation import parameters as P
from generation.inference.deepcache import DeepCache
from generation.inference.pipelines import LoadedModel, make_generator, make_scheduler


class JobCanceled(Exception):
    """Raised from the step callback when a cancel was asked for."""


# What the runner needs to make one image: every job parameter (generation.parameters), the source image and,
# for scene jobs, the product's mask on it (255 = kept).
JobSpec = make_dataclass(
    "JobSpec",
    [(p.name, Any, field(default=None if p.per_mode else p.default)) for p in P.PARAMETERS]
    + [("source_image", Any, field(default=None)), ("mask_image", Any, field(default=None))],
    frozen=True,
)


@dataclass
class RunResult:
    image: Image.Image
    inference_seconds: float
    steps_run: int
    prepared: modes.Prepared | None = None  # what the mode prepared for the call (scene: the placed product)
    control_image: Image.Image | None = None  # edge guidance: the Canny map the ControlNet saw
    safety: Any = None  # safety.Verdict when the model's safety checker ran on the image
    model_prompt: str = ""  # the prompt as the model was given it (LoadedModel.model_prompt)

    @property
    def seconds_per_step(self) -> float:
        return self.inference_seconds / max(1, self.steps_run)


StepCallback = Callable[[int, int], None]


def run(spec: JobSpec, loaded: LoadedModel, on_step: StepCallback | None = None) -> RunResult:
    """Generate one image. ``on_step(step, total)`` is called after each denoising step and may raise JobCanceled."""
    return run_batch([spec], loaded, on_step)[0]


def run_batch(specs: list[JobSpec], loaded: LoadedModel, on_step: StepCallback | None = None) -> list[RunResult]:
    """Generate several images in one pipeline call, one CPU generator per image (same seeds, same noise).

    The specs must agree on the batch keys; prompts, negative prompts, seeds and sources may differ. What the
    call takes and what is done to its images is the mode's (generation.modes); this is the same for every mode.
    """
    first = specs[0]
    if any(getattr(spec, key) != getattr(first, key) for spec in specs for key in P.BATCH_KEYS):
        raise ValueError(f"A batch must share {', '.join(P.BATCH_KEYS)}.")
    mode = modes.get(first.mode)
    if mode.uses_photo and any(spec.source_image is None for spec in specs):
        raise ValueError(f"{mode.label} needs a source image.")
    scheduler = make_scheduler(first.scheduler, loaded.scheduler_config)
    edge_guidance = first.controlnet_conditioning_scale is not None
    pipe = loaded.pipeline(mode, edge_guidance=edge_guidance)
    # The worker runs one job (or batch) at a time, so the shared pipeline's scheduler can be swapped per call.
    pipe.scheduler = scheduler
    steps_run = 0

    single = len(specs) == 1

    def per_image(values: list):
        return values[0] if single else values

    prompts = [loaded.model_prompt(spec.prompt, mode) for spec in specs]
    negatives = [spec.negative_prompt or "" for spec in specs]
    prepared = [mode.prepare(spec) for spec in specs]
    hook = mode.step_hook(pipe, specs, prepared, [make_generator(spec.seed) for spec in specs])

    def callback(pipeline, step_index: int, timestep, callback_kwargs: dict) -> dict:
        nonlocal steps_run
        if hook is not None:
            callback_kwargs = hook(pipeline, step_index, callback_kwargs)
        steps_run = step_index + 1
        if on_step is not None:
            on_step(steps_run, pipeline.num_timesteps)
        return callback_kwargs

    kwargs = dict(
        prompt=per_image(prompts),
        negative_prompt=(negatives[0] or None) if single else (negatives if any(negatives) else None),
        num_inference_steps=first.num_inference_steps,
        guidance_scale=first.guidance_scale,
        generator=per_image([make_generator(spec.seed) for spec in specs]),
        callback_on_step_end=callback,
        **({"callback_on_step_end_tensor_inputs": hook.tensors} if hook is not None else {}),
        output_type="pil",
        **mode.call_arguments(first),
    )
    for name in prepared[0].arguments:
        kwargs[name] = per_image([p.arguments[name] for p in prepared])
    controls: list = [None] * len(specs)
    if edge_guidance:  # the ControlNet follows the Canny edges of what the pipeline starts from
        controls = [scene.canny(p.reference) for p in prepared]
        kwargs.update(control_image=per_image(controls), controlnet_conditioning_scale=float(first.controlnet_conditioning_scale))
    started = time.perf_counter()
    draft = DeepCache.for_steps(pipe.unet, first.num_inference_steps, pipe.scheduler) if first.speed == "draft" else None
    with torch.inference_mode(), (draft or contextlib.nullcontext()):
        output = pipe(**kwargs)
    elapsed = time.perf_counter() - started
    images = [mode.finish(image, p) for image, p in zip(output.images, prepared)]
    # The safety checker judges the image as delivered (after the product is put back) and never alters it.
    verdicts = loaded.safety(images) if loaded.safety is not None else [None] * len(images)
    return [
        RunResult(image=image, inference_seconds=elapsed, steps_run=steps_run, prepared=p, control_image=control, safety=verdict,
                  model_prompt=prompt)
        for image, p, control, verdict, prompt in zip(images, prepared, controls, verdicts, prompts)
    ]


def warm_up(loaded: LoadedModel, shapes) -> float:
    """Run two steps of every mode at each served shape (compilation, kernel autotuning) and return seconds."""
    started = time.perf_counter()
    for width, height in shapes:
        for mode in modes.all_modes():
            values = {name: value for name, value in modes.defaults(mode.name).items() if value is not None}
            values.update(mode=mode.name, prompt="warm-up", seed=0, num_inference_steps=2, width=width, height=height)
            if "strength" in values:
                values["strength"] = 1.0
            run(JobSpec(**values, **mode.warm_up_inputs(width, height)), loaded)
    return time.perf_counter() - started
