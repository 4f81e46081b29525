"""Fault injection soak: jobs keep flowing while workers are SIGKILLed, Redis is flushed and restarted,
and duplicates are delivered; at the end every job must be accounted for.

    python bench/chaos.py [--jobs 40] [--kills 6] [--flushes 2] [--restarts 1] [--duplicates 10]

Uses a scratch SQLite database, media folder and a private Redis (loopback only); bounded in count
and time. Prints how many faults of each kind were injected and how many jobs were lost (queued or
running forever, or succeeded without a readable file) -- the goal is zero.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--flushes", type=int, default=2)
    parser.add_argument("--restarts", type=int, default=1, help="Redis stopped and started empty")
    parser.add_argument("--duplicates", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    rng = random.Random(7)
    scratch = Path(tempfile.mkdtemp(prefix="sdstudio-chaos-"))
    from sdstudio.localredis import free_port, start_redis

    port = free_port()
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": f"sqlite:///{scratch / 'chaos.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "SDSTUDIO_TORCH_THREADS": "1",
        "SDSTUDIO_HEARTBEAT_STALE_SECONDS": "3",
        "SDSTUDIO_MAX_ATTEMPTS": "10",
        "SDSTUDIO_PROGRESS_INTERVAL": "0.2",
        "HF_HUB_OFFLINE": "1",
    })
    redis = start_redis(port=port, directory=scratch / "redis")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from generation import services
    from generation.models import GenerationJob, Status

    call_command("migrate", verbosity=0)

    def worker() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "manage.py", "rqworker", "generation"], cwd=ROOT,
                                env={**os.environ, "SDSTUDIO_BATCH_MAX": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    workers = [worker(), worker()]
    injected = {"worker SIGKILL": 0, "Redis FLUSHALL": 0, "Redis restarted empty": 0, "duplicate delivery": 0}
    jobs = []
    started = time.monotonic()
    plan = (["kill"] * args.kills + ["flush"] * args.flushes + ["restart"] * args.restarts + ["dup"] * args.duplicates)
    rng.shuffle(plan)
    try:
        for index in range(args.jobs):
            with transaction.atomic():
                jobs.append(services.job_create(prompt=f"chaos {index}", seed=index, width=256, height=256, num_inference_steps=12))
            if plan and index % max(1, args.jobs // (len(plan) + 1)) == 0:
                fault = plan.pop()
                time.sleep(rng.uniform(0.5, 2.0))
                if fault == "kill":
                    victim = rng.randrange(len(workers))
                    os.kill(workers[victim].pid, signal.SIGKILL)
                    workers[victim].wait()
                    workers[victim] = worker()
                    injected["worker SIGKILL"] += 1
                elif fault == "flush":
                    services.get_queue().connection.flushall()
                    injected["Redis FLUSHALL"] += 1
                elif fault == "restart":
                    redis.terminate()
                    redis.wait()
                    time.sleep(1)
                    redis = start_redis(port=port, directory=scratch / "redis")
                    injected["Redis restarted empty"] += 1
                else:
                    target = rng.choice(jobs)
                    try:
                        services.get_queue().enqueue(services.TASK_PATH, target.pk, job_id=f"chaos-duplicate-{index}")
                        injected["duplicate delivery"] += 1
                    except Exception:
                        pass
            print(f"\rjobs created {index + 1}/{args.jobs}, faults {sum(injected.values())}", end="", flush=True)
        print()
        # The reconciler runs in every worker's maintenance pass; run it here too until everything settles.
        while time.monotonic() - started < args.timeout:
            call_command("reconcile_jobs", stdout=open(os.devnull, "w"))
            open_jobs = GenerationJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).count()
            done = GenerationJob.objects.filter(status=Status.SUCCEEDED).count()
            print(f"\rsucceeded {done}/{len(jobs)}, still open {open_jobs}   ", end="", flush=True)
            if open_jobs == 0:
                break
            time.sleep(2)
        print()
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=60)
        redis.terminate()
    rows = list(GenerationJob.objects.all())
    lost = [job.pk for job in rows if job.status in (Status.QUEUED, Status.RUNNING)]
    missing_files = [job.pk for job in rows if job.status == Status.SUCCEEDED and not job.output.storage.exists(job.output.name)]
    failed = [(job.pk, job.error) for job in rows if job.status == Status.FAILED]
    print("\n| fault | injected |\n| --- | --: |")
    for name, count in injected.items():
        print(f"| {name} | {count} |")
    attempts = sorted(job.attempts for job in rows)
    print(f"\njobs: {len(rows)}; succeeded {sum(j.status == Status.SUCCEEDED for j in rows)}; failed with a reason {len(failed)}; "
          f"lost (still queued/running) {len(lost)}; succeeded without a file {len(missing_files)}; "
          f"attempts max {attempts[-1]}, jobs retried {sum(a > 1 for a in attempts)}; {time.monotonic() - started:.0f} s")
    for pk, error in failed:
        print(f"  failed job {pk}: {error}")
    if lost or missing_files:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
