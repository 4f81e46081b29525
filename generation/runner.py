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
    return run_batch([spec], loaded, on_step)[0]


BATCH_KEYS = ("mode", "num_inference_steps", "guidance_scale", "scheduler", "width", "height", "strength")


def run_batch(specs: list[JobSpec], loaded: LoadedModel, on_step: StepCallback | None = None) -> list[RunResult]:
    """Generate several images in one pipeline call, one CPU generator per image (same seeds, same noise).

    The specs must agree on BATCH_KEYS; prompts, negative prompts, seeds and sources may differ.
    """
    first = specs[0]
    if any(getattr(spec, key) != getattr(first, key) for spec in specs for key in BATCH_KEYS):
        raise ValueError(f"A batch must share {', '.join(BATCH_KEYS)}.")
    scheduler = make_scheduler(first.scheduler, loaded.scheduler_config)
    pipe = loaded.img2img if first.mode == "img2img" else loaded.text2img
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
    if first.mode == "img2img":
        if any(spec.source_image is None for spec in specs) or first.strength is None:
            raise ValueError("img2img needs a source image and a strength.")
        sources = [prepare_source(spec.source_image, spec.width, spec.height) for spec in specs]
        kwargs.update(image=sources[0] if single else sources, strength=first.strength)
    else:
        kwargs.update(width=first.width, height=first.height)
    started = time.perf_counter()
    with torch.inference_mode():
        output = pipe(**kwargs)
    elapsed = time.perf_counter() - started
    loaded.jobs_run += len(specs)
    return [RunResult(image=image, inference_seconds=elapsed, steps_run=steps_run) for image in output.images]

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


def execute_jobs(jobs: list, loaded: LoadedModel, *, load_seconds: float = 0.0) -> list[str]:
    """Run claimed (running) jobs, as one batch when there are several, to their end states.

    Progress is written back at most every SDSTUDIO_PROGRESS_INTERVAL seconds
    (and at the last step); each write also reads the cancel flags. A job
    canceled inside a batch is dropped at the end; the batch stops only when
    every one of its jobs was canceled.
    """
    from django.conf import settings

    from generation import services

    states: dict[int, str] = {}
    runnable = []
    for job in jobs:
        if (job.model_id or "") != loaded.model_id:
            services.job_fail(
                job_id=job.pk,
                error=f"This worker serves {loaded.model_label!r} but the job asks for {job.model_id or 'the embedded model'!r}. "
                "Start a worker with the same SDSTUDIO_MODEL.",
            )
            states[job.pk] = "failed"
        else:
            runnable.append(job)
    interval = settings.SDSTUDIO_PROGRESS_INTERVAL
    last_report = 0.0
    canceled: set[int] = set()

    def on_step(step: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if step < total and now - last_report < interval:
            return
        last_report = now
        for job in runnable:
            if services.job_report_progress(job_id=job.pk, step=step, total=total):
                canceled.add(job.pk)
        if len(canceled) == len(runnable):
            raise JobCanceled()

    if runnable:
        specs = [spec_for(job) for job in runnable]
        try:
            results = run_batch(specs, loaded, on_step=on_step)
        except JobCanceled:
            results = []
            canceled.update(job.pk for job in runnable)
        environment = loaded.fingerprint()
        if len(runnable) > 1:
            environment["batch_size"] = len(runnable)
        for job, spec, result in zip(runnable, specs, results or [None] * len(runnable)):
            if job.pk in canceled or result is None:
                services.job_mark_canceled(job_id=job.pk)
                states[job.pk] = "canceled"
            else:
                states[job.pk] = finish_job(job, spec, result, environment, load_seconds=load_seconds)
    return [states[job.pk] for job in jobs]


def execute_job(job, loaded: LoadedModel, *, load_seconds: float = 0.0) -> str:
    return execute_jobs([job], loaded, load_seconds=load_seconds)[0]


def finish_job(job, spec: JobSpec, result: RunResult, environment: dict, *, load_seconds: float) -> str:
    """Measure, encode with provenance and store one output; the row turns succeeded with its file or not at all."""
    from evaluation import metrics
    from generation import pngmeta, services
    from sdstudio.images import thumbnail_png

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
        png=pngmeta.encode_png(result.image, job.parameters(), extra={"job": job.pk, "environment": environment}),
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
