"""SD Studio benchmark: what the app adds on top of the bare diffusers pipeline, measured side by side.

    python bench/bench.py [--images 3] [--steps 30] [--size 512] [--scheduler euler_a]

(a) bare diffusers: the pipeline called directly (from_pretrained, one CPU generator per image);
(b) SD Studio's runner called in-process (scheduler from_config, progress callback, same pipeline);
(c) the full path: a job created through the service, carried by Redis to a real worker process
    (GenerationWorker, started beforehand), run, PNG with metadata written, row marked succeeded.

Each round runs (a), (b) and (c) once in turn, so slow drifts of the machine hit all three alike.
It uses a scratch SQLite database, media folder and private Redis, and the configured model
(SDSTUDIO_MODEL; unset = the embedded model; embedded-full = SD v1.5's full architecture with random
weights). Prints images per second, the ratios (b)/(a) and (c)/(a), worker start-up and first-job time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=3, help="rounds (one image per path per round)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--scheduler", default="euler_a")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1, help="also measure (d): this many jobs queued at once, run as one batch")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("SDSTUDIO_TORCH_THREADS") or os.cpu_count() or 1))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sdstudio-bench-"))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": f"sqlite:///{scratch / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "SDSTUDIO_TORCH_THREADS": str(args.threads),
        "SDSTUDIO_PROGRESS_INTERVAL": os.environ.get("SDSTUDIO_PROGRESS_INTERVAL", "0.5"),
    })
    from sdstudio.localredis import free_port, start_redis

    port = free_port()
    redis = start_redis(port=port, directory=scratch / "redis")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import torch

    from generation import services
    from generation.inference import pipelines, runner
    from generation.models import GenerationJob

    torch.set_num_threads(args.threads)
    print(f"SD Studio bench: {args.size}x{args.size}, {args.steps} steps, guidance {args.guidance}, {args.scheduler}, "
          f"{args.images} round(s), {args.threads} thread(s)", flush=True)

    worker_started = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "manage.py", "rqworker", "generation"], cwd=ROOT,
                              env={**os.environ, "SDSTUDIO_BATCH_MAX": str(args.batch)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The worker starts on its own; wait until it has registered (it loads the pipeline first).
        from rq import Worker

        conn = services.get_queue().connection
        while not Worker.all(connection=conn):
            if worker.poll() is not None:
                raise SystemExit(f"worker exited:\n{worker.stdout.read()}")
            time.sleep(0.1)
        worker_startup = time.perf_counter() - worker_started

        loaded = pipelines.get_pipelines()
        print(f"model: {loaded.model_label} on {loaded.device} ({loaded.dtype}); load in this process {loaded.load_seconds:.2f} s; "
              f"worker start-up (import + load + register) {worker_startup:.2f} s", flush=True)
        prompt = "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background"

        def bare(seed: int) -> float:
            pipe = loaded.text2img
            pipe.scheduler = pipelines.make_scheduler(args.scheduler, loaded.scheduler_config)
            started = time.perf_counter()
            with torch.inference_mode():
                pipe(prompt=prompt, num_inference_steps=args.steps, guidance_scale=args.guidance, width=args.size,
                     height=args.size, generator=torch.Generator("cpu").manual_seed(seed)).images[0].load()
            return time.perf_counter() - started

        def in_process(seed: int) -> float:
            spec = runner.JobSpec(mode="text2img", prompt=prompt, negative_prompt="", seed=seed, num_inference_steps=args.steps,
                                  guidance_scale=args.guidance, scheduler=args.scheduler, width=args.size, height=args.size)
            started = time.perf_counter()
            runner.run(spec, loaded, on_step=lambda step, total: None)
            return time.perf_counter() - started

        def full_path(seed: int, count: int = 1) -> tuple[float, GenerationJob]:
            """Seconds per image for ``count`` jobs created together (carried by Redis, run by the worker)."""
            started = time.perf_counter()
            from django.db import transaction

            with transaction.atomic():  # all enqueued at commit, so a batching worker finds them together
                jobs = [services.job_create(prompt=prompt, seed=seed + i, num_inference_steps=args.steps, guidance_scale=args.guidance,
                                            scheduler=args.scheduler, width=args.size, height=args.size) for i in range(count)]
            pks = [job.pk for job in jobs]
            while GenerationJob.objects.filter(pk__in=pks, status__in=["queued", "running"]).exists():
                time.sleep(0.05)
            elapsed = (time.perf_counter() - started) / count
            for job in jobs:
                job.refresh_from_db()
                if job.status != "succeeded":
                    raise SystemExit(f"job {job.pk} {job.status}: {job.error}")
            return elapsed, jobs[0]

        first_elapsed, first_job = full_path(0)  # the worker's first job: shows it pays no load
        bare(0)
        in_process(0)
        print(f"worker's first job: {first_elapsed:.2f} s end to end, load time paid by the job {first_job.load_seconds or 0:.2f} s", flush=True)
        times: dict[str, list[float]] = {"a": [], "b": [], "c": []}
        if args.batch > 1:
            times["d"] = []
        for round_index in range(1, args.images + 1):
            seed = 1000 + round_index
            times["a"].append(bare(seed))
            times["b"].append(in_process(seed))
            elapsed, job = full_path(seed)
            times["c"].append(elapsed)
            print(f"round {round_index}/{args.images}: (a) {times['a'][-1]:.2f} s  (b) {times['b'][-1]:.2f} s  (c) {elapsed:.2f} s "
                  f"[worker: inference {job.inference_seconds:.2f} s, queue wait {job.queue_wait_seconds:.3f} s]", flush=True)
            if args.batch > 1:
                per_image, job = full_path(seed * 100, args.batch)
                times["d"].append(per_image)
                print(f"    (d) {args.batch} jobs at once: {per_image:.2f} s per image (batch size {job.environment.get('batch_size', 1)})", flush=True)
        median = {key: statistics.median(values) for key, values in times.items()}
        print("\n| path | median s/image | images/s | ratio to (a) |")
        print("| --- | --: | --: | --: |")
        labels = {"a": "(a) bare diffusers", "b": "(b) runner in-process", "c": "(c) job via Redis + worker + PNG",
                  "d": f"(d) {args.batch} jobs at once, batched worker"}
        for key in times:
            print(f"| {labels[key]} | {median[key]:.3f} | {1 / median[key]:.3f} | {median['a'] / median[key]:.3f} |")
        print(f"\n(b)/(a) = {median['a'] / median['b']:.3f}   (c)/(a) = {median['a'] / median['c']:.3f}   (throughput ratios)")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.terminate()


if __name__ == "__main__":
    main()
