"""Run one generation on loaded pipelines. Knows nothing of Django models: a JobSpec in, an image out."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from PIL import Image, ImageOps

from generation.pipelines import LoadedModel, make_generator, make_scheduler


class JobCanceled(Exception):
    """Raised from the step callback when a cancel was asked for."""


@dataclass(frozen=True)
class JobSpec:
    mode: str
    prompt: str
    negative_prompt: str
    seed: int
    num_inference_steps: int
    guidance_scale: float
    scheduler: str
    width: int
    height: int
    strength: float | None = None
    source_image: Image.Image | None = None


@dataclass
class RunResult:
    image: Image.Image
    inference_seconds: float
    steps_run: int

    @property
    def seconds_per_step(self) -> float:
        return self.inference_seconds / max(1, self.steps_run)


StepCallback = Callable[[int, int], None]


def prepare_source(image: Image.Image, width: int, height: int) -> Image.Image:
    """Fit the source photo to the job's size, keeping its aspect ratio (centre crop), in RGB."""
    image = image.convert("RGB")
    if image.size == (width, height):
        return image
    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)


def run(spec: JobSpec, loaded: LoadedModel, on_step: StepCallback | None = None) -> RunResult:
    """Generate one image. ``on_step(step, total)`` is called after each denoising step and may raise JobCanceled."""
    scheduler = make_scheduler(spec.scheduler, loaded.scheduler_config)
    pipe = loaded.img2img if spec.mode == "img2img" else loaded.text2img
    # The worker runs one job at a time, so the shared pipeline's scheduler can be swapped per job.
    pipe.scheduler = scheduler
    steps_run = 0

    def callback(pipeline, step_index: int, timestep, callback_kwargs: dict) -> dict:
        nonlocal steps_run
        steps_run = step_index + 1
        if on_step is not None:
            on_step(steps_run, pipeline.num_timesteps)
        return callback_kwargs

    kwargs = dict(
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt or None,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        generator=make_generator(spec.seed),
        callback_on_step_end=callback,
        output_type="pil",
    )
    if spec.mode == "img2img":
        if spec.source_image is None or spec.strength is None:
            raise ValueError("img2img needs a source image and a strength.")
        kwargs.update(image=prepare_source(spec.source_image, spec.width, spec.height), strength=spec.strength)
    else:
        kwargs.update(width=spec.width, height=spec.height)
    started = time.perf_counter()
    with torch.inference_mode():
        output = pipe(**kwargs)
    elapsed = time.perf_counter() - started
    loaded.jobs_run += 1
    return RunResult(image=output.images[0], inference_seconds=elapsed, steps_run=steps_run)


def spec_for(job) -> JobSpec:
    """The runner's view of a GenerationJob row (opens the source photo for img2img)."""
    source = None
    if job.mode == "img2img":
        with job.source_photo.image.open("rb") as handle:
            source = Image.open(handle)
            source.load()
    return JobSpec(
        mode=job.mode,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=job.seed,
        num_inference_steps=job.num_inference_steps,
        guidance_scale=job.guidance_scale,
        scheduler=job.scheduler,
        width=job.width,
        height=job.height,
        strength=job.strength,
        source_image=source,
    )


def execute_job(job, loaded: LoadedModel, *, load_seconds: float = 0.0) -> str:
    """Run a claimed (running) job to its end state and return that state.

    Progress is written back at most every SDSTUDIO_PROGRESS_INTERVAL seconds
    (and at the last step); each write also reads the cancel flag.
    """
    from django.conf import settings

    from evaluation import metrics
    from generation import pngmeta, services
    from sdstudio.images import thumbnail_png

    requested = job.model_id or ""
    if requested != loaded.model_id:
        services.job_fail(
            job_id=job.pk,
            error=f"This worker serves {loaded.model_label!r} but the job asks for {requested or 'the embedded model'!r}. "
            "Start a worker with the same SDSTUDIO_MODEL.",
        )
        return "failed"

    interval = settings.SDSTUDIO_PROGRESS_INTERVAL
    last_report = 0.0

    def on_step(step: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if step < total and now - last_report < interval:
            return
        last_report = now
        if services.job_report_progress(job_id=job.pk, step=step, total=total):
            raise JobCanceled()

    spec = spec_for(job)
    try:
        result = run(spec, loaded, on_step=on_step)
    except JobCanceled:
        services.job_mark_canceled(job_id=job.pk)
        return "canceled"

    params = job.parameters()
    environment = loaded.fingerprint()
    extra: dict = {}
    if spec.source_image is not None:
        extra["fidelity_ssim"], extra["fidelity_phash_distance"] = metrics.fidelity(
            prepare_source(spec.source_image, job.width, job.height), result.image
        )
    if job.rerun_of_id and job.rerun_of.output:
        with job.rerun_of.output.open("rb") as handle:
            original = Image.open(handle)
            original.load()
        comparison = metrics.compare_pixels(original, result.image)
        extra["rerun_result"] = "identical" if comparison.identical else "drifted"
        extra["rerun_max_pixel_diff"] = comparison.max_diff
        extra["rerun_psnr"] = comparison.psnr
    outcome = services.JobOutcome(
        png=pngmeta.encode_png(result.image, params, extra={"job": job.pk, "environment": environment}),
        thumbnail_png=thumbnail_png(result.image),
        pixels_sha256=pngmeta.pixels_sha256(result.image),
        environment=environment,
        load_seconds=load_seconds,
        inference_seconds=result.inference_seconds,
        seconds_per_step=result.seconds_per_step,
        steps_run=result.steps_run,
        extra_fields=extra,
    )
    return "succeeded" if services.job_succeed(job=job, outcome=outcome) else "discarded"
