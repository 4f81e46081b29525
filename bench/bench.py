"""SD Studio benchmark: what the app adds on top of the bare diffusers pipeline, measured side by side.

    python bench/bench.py [--images 10] [--shapes 512x30,256x20] [--queue 4] [--scheduler euler_a]

(a) bare diffusers: the pipeline called directly (from_pretrained, one CPU generator per image);
(b) SD Studio's runner called in-process (scheduler from_config, progress callback, same pipeline);
(c) the full path: --queue jobs created together through the service, carried by Redis to a real
    worker process (GenerationWorker, started beforehand), run, PNG with metadata and Content Credentials
    written, rows marked succeeded. Seconds per image with jobs waiting = the steady cycle: one job's
    pipeline start to the next job's, from the second job on (the previous image is then being stored
    while the pipeline runs), median of the round. Also printed: end to end, submit to the last row's
    finished_at / jobs (it adds the submit and the last image's storing, paid once per queue). The worker's
    idle gap is the time from the end of one pipeline call to the start of the next (jobs waiting), from
    the jobs' recorded pipeline timings: median and p95.

Each round runs (a), (b), (c) and (a) again in turn, (a) being the mean of its two runs, and computes its own
ratios; the figures are the median of the rounds' ratios, with their quartiles. A round lasts seconds, so the
machine's drift (on a shared 2-core host, the same image took 0.59 to 1.05 s within a minute) moves all three
alike; (b)/(a), the same computation twice, shows how far a round could stray. Each SIZExSTEPS shape in --shapes
gets its own rounds and table. It uses a scratch SQLite database, media folder and private Redis, and the
configured model (SDSTUDIO_MODEL; unset = the embedded model; embedded-full = SD v1.5's full architecture with
random weights). Prints images per second, the ratios (b)/(a) and (c)/(a), worker start-up and first-job time.
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


# A pause after (c) before timing (a) again: the worker winds down its last job (rq's bookkeeping, the reconciler's
# check, freed memory) for a moment after its row is marked; timed at once, (a) would share the CPU with that.
SETTLE_SECONDS = 1.0


def quartiles(values: list[float]) -> str:
    """The first and third quartiles of the values, as "q1-q3"."""
    if len(values) < 2:
        return "-"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:.3f}-{q3:.3f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10, help="rounds (one image per path per round, --queue for (c))")
    parser.add_argument("--shapes", default="512x30,256x20", help="SIZExSTEPS list (image size, denoising steps)")
    # 4: two steady cycles per round; short rounds keep (a) and (c) seconds apart
    parser.add_argument("--queue", type=int, default=4, help="(c): jobs queued at once per round (at least 3)")
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--scheduler", default="euler_a")
    parser.add_argument("--batch", type=int, default=1, help="(c) on a worker that batches up to this many compatible jobs (SDSTUDIO_BATCH_MAX)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("SDSTUDIO_TORCH_THREADS") or os.cpu_count() or 1))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.queue < 3:
        raise SystemExit("--queue must be at least 3: the steady cycle starts at the second job")
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
    from generation import modelinfo
    from generation.inference import pipelines, runner
    from generation.models import GenerationJob

    torch.set_num_threads(args.threads)
    shapes = [tuple(int(n) for n in item.split("x")) for item in args.shapes.split(",")]
    print(f"SD Studio bench: shapes (size x steps) {args.shapes}, guidance {args.guidance}, {args.scheduler}, "
          f"{args.images} round(s), {args.queue} queued jobs per (c), {args.threads} thread(s)", flush=True)

    worker_started = time.perf_counter()
    # The worker logs to a file: a pipe nobody reads fills up (64 KiB) and blocks the worker mid-run.
    worker_log = scratch / "worker.log"
    with open(worker_log, "w") as log:
        worker = subprocess.Popen([sys.executable, "manage.py", "rqworker", "generation"], cwd=ROOT,
                                  env={**os.environ, "SDSTUDIO_BATCH_MAX": str(args.batch)},
                                  stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        # The worker starts on its own; wait until it has registered (it loads the pipeline first).
        from rq import Worker

        conn = services.get_queue().connection
        while not Worker.all(connection=conn):
            if worker.poll() is not None:
                raise SystemExit(f"worker exited:\n{worker_log.read_text()[-4000:]}")
            time.sleep(0.1)
        worker_startup = time.perf_counter() - worker_started

        loaded = pipelines.get_pipelines(modelinfo.inference_config())
        print(f"model: {loaded.model_label} on {loaded.device} ({loaded.dtype}); load in this process {loaded.load_seconds:.2f} s; "
              f"worker start-up (import + load + register) {worker_startup:.2f} s", flush=True)
        prompt = "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background"

        def bare(seed: int, size: int, steps: int) -> float:
            pipe = loaded.text2img
            pipe.scheduler = pipelines.make_scheduler(args.scheduler, loaded.scheduler_config)
            started = time.perf_counter()
            with torch.inference_mode():
                pipe(prompt=prompt, num_inference_steps=steps, guidance_scale=args.guidance, width=size,
                     height=size, generator=torch.Generator("cpu").manual_seed(seed)).images[0].load()
            return time.perf_counter() - started

        def in_process(seed: int, size: int, steps: int) -> float:
            spec = runner.JobSpec(prompt=prompt, seed=seed, num_inference_steps=steps, guidance_scale=args.guidance,
                                  scheduler=args.scheduler, width=size, height=size)
            started = time.perf_counter()
            runner.run(spec, loaded, on_step=lambda step, total: None)
            return time.perf_counter() - started

        def full_path(seed: int, size: int, steps: int, count: int) -> tuple[float, list[float], list[float], list[GenerationJob]]:
            """``count`` jobs created together: seconds per image end to end, the steady cycles and the idle gaps.

            A cycle is one job's pipeline start to the next job's (its pipeline call plus the gap before the next
            one). Only cycles after the first count as steady: from the second job on, the previous image is being
            stored while the pipeline runs, as it is whenever jobs are waiting.
            """
            from django.db import transaction

            from django.utils import timezone

            started = timezone.now()
            with transaction.atomic():  # all enqueued at commit: the worker always has the next job waiting
                jobs = [services.job_create(prompt=prompt, seed=seed + i, num_inference_steps=steps, guidance_scale=args.guidance,
                                            scheduler=args.scheduler, width=size, height=size) for i in range(count)]
            pks = [job.pk for job in jobs]
            # Polled slowly (this process must not compete with the worker for the CPU); the time is the rows' own.
            while GenerationJob.objects.filter(pk__in=pks, status__in=["queued", "running"]).exists():
                time.sleep(0.25)
            rows = list(GenerationJob.objects.filter(pk__in=pks).order_by("pipeline_started_at"))
            elapsed = (max(job.finished_at for job in rows) - started).total_seconds() / count
            for job in rows:
                if job.status != "succeeded":
                    raise SystemExit(f"job {job.pk} {job.status}: {job.error}")
            starts = [job.pipeline_started_at for job in rows]
            cycles = [(b - a).total_seconds() for a, b in zip(starts[1:], starts[2:])]
            gaps = [(b.pipeline_started_at - a.pipeline_finished_at).total_seconds() for a, b in zip(rows, rows[1:])]
            return elapsed, cycles, gaps, rows

        first_elapsed, _, _, first_jobs = full_path(0, *shapes[0], 1)  # the worker's first job: shows it pays no load
        print(f"worker's first job: {first_elapsed:.2f} s end to end, load time paid by the job {first_jobs[0].load_seconds or 0:.2f} s",
              flush=True)
        signed = first_jobs[0].content_credentials
        print(f"outputs' Content Credentials (C2PA): {f'signed by the {signed} signer' if signed else 'unsigned'} "
              "(SDSTUDIO_C2PA_DEV_SIGNING=0 for unsigned outputs)", flush=True)
        summary = []
        for size, steps in shapes:
            bare(0, size, steps)
            in_process(0, size, steps)
            times: dict[str, list[float]] = {"a": [], "b": [], "c": [], "e": []}
            gaps: list[float] = []
            calls: list[float] = []  # the worker's own pipeline calls (pipeline_started_at to pipeline_finished_at)
            print(f"\n{size}x{size}, {steps} steps", flush=True)
            for round_index in range(1, args.images + 1):
                seed = 1000 + round_index
                before = bare(seed, size, steps)
                times["b"].append(in_process(seed, size, steps))
                elapsed, cycles, round_gaps, rows = full_path(seed * 100, size, steps, args.queue)
                times["c"].append(statistics.median(cycles))
                times["e"].append(elapsed)
                time.sleep(SETTLE_SECONDS)
                # (a) again right after (c): the round's (a) is the mean of the two, so a machine speeding up or
                # slowing down during (c) moves (a) alike instead of the ratio.
                # Untimed first: the first call after the worker ran finds the CPU caches full of the worker's weights
                # and runs slower: timed at once, (a) after (c) took 8% longer than (a) before (geometric mean of 36
                # rounds, slower in 23); with this call first, 1% less (32 rounds, slower in 16). The worker's first
                # job pays the same, and the steady cycle leaves it out too.
                bare(seed, size, steps)
                after = bare(seed, size, steps)
                times["a"].append((before + after) / 2)
                gaps += round_gaps
                calls += [(job.pipeline_finished_at - job.pipeline_started_at).total_seconds() for job in rows]
                print(f"round {round_index}/{args.images}: (a) {times['a'][-1]:.3f} s ({before:.3f} before, {after:.3f} after)  "
                      f"(b) {times['b'][-1]:.3f} s  (c) {times['c'][-1]:.3f} s/image steady, {elapsed:.3f} end to end  "
                      f"(c)/(a) {times['a'][-1] / times['c'][-1]:.3f} [cycles s: {', '.join(f'{c:.3f}' for c in cycles)}] [idle gaps ms: {', '.join(f'{g * 1000:.0f}' for g in round_gaps)}]",
                      flush=True)
            median = {key: statistics.median(values) for key, values in times.items()}
            # Each round measures (a), (b) and (c) seconds apart: the median of the rounds' own ratios is what the
            # machine's drift moves least. (b) is (a)'s own computation called through the runner, so the spread of
            # (b)/(a) shows how far the machine let one round stray.
            ratios = {key: [a / x for a, x in zip(times["a"], times[key])] for key in ("b", "c", "e")}
            ratio = {key: statistics.median(values) for key, values in ratios.items()}
            gaps.sort()
            gap_median = statistics.median(gaps) if gaps else float("nan")
            gap_p95 = gaps[min(len(gaps) - 1, round(0.95 * (len(gaps) - 1)))] if gaps else float("nan")
            print("\n| path | median s/image | images/s | median of the rounds' ratio to (a) | its quartiles |")
            print("| --- | --: | --: | --: | --: |")
            labels = {"a": "(a) bare diffusers", "b": "(b) runner in-process",
                      "c": f"(c) worker, jobs waiting (steady cycle of {args.queue} queued)",
                      "e": f"(c) end to end: submit to the last of {args.queue} jobs stored"}
            for key in times:
                print(f"| {labels[key]} | {median[key]:.3f} | {1 / median[key]:.3f} | {ratio.get(key, 1.0):.3f} | "
                      f"{quartiles(ratios.get(key, []))} |")
            print(f"\n(b)/(a) = {ratio['b']:.3f}   (c)/(a) = {ratio['c']:.3f}   "
                  f"idle gap median {gap_median * 1000:.1f} ms, p95 {gap_p95 * 1000:.1f} ms ({len(gaps)} gaps); "
                  f"the worker's pipeline call median {statistics.median(calls):.3f} s = (a) x {statistics.median(calls) / median['a']:.3f}",
                  flush=True)
            summary.append((size, steps, ratio["b"], ratio["c"], ratio["e"], gap_median, gap_p95))
        print("\n| shape | (b)/(a) | (c)/(a) jobs waiting | (c)/(a) end to end | idle gap median | idle gap p95 |")
        print("| --- | --: | --: | --: | --: | --: |")
        for size, steps, ba, ca, ea, gm, gp in summary:
            print(f"| {size}x{size}, {steps} steps | {ba:.3f} | {ca:.3f} | {ea:.3f} | {gm * 1000:.1f} ms | {gp * 1000:.1f} ms |")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.terminate()


if __name__ == "__main__":
    main()
