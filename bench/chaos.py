"""Fault injection soak: jobs keep flowing while workers are SIGKILLed (mid-generation and while an image is
being stored), Redis is flushed and restarted empty, and duplicate messages are delivered. At the end every
job must be accounted for.

    python bench/chaos.py [--each 20] [--workers 2] [--settle 600] [--kinds disk-full,...]
    python bench/chaos.py --database postgres://postgres@127.0.0.1:5432/sdstudio_chaos   # adds db-lost

Every planned fault is sent, each once its moment has come: a worker is killed only while one of its jobs
is `running` (some between denoising steps, some while the finished image is being written: the storage is
made slow to write for that, `generation.tests.slow_storage_settings`), Redis is flushed or restarted while
jobs are queued in it, a duplicate is delivered for a job that is queued or running, the disk fills up while
an image is stored (the storage raises ENOSPC), and on PostgreSQL the workers' database sessions are ended while
they denoise or store. A scratch SQLite database (or the PostgreSQL database given), media folder and private
Redis (loopback only) are used. Prints per fault kind: injected, jobs it
hit, jobs lost (succeeded without a readable file), stuck (still queued or running after --settle seconds),
retried (attempts > 1) and failed with a reason. Exit status 1 if a job is lost or stuck.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = {
    "kill-running": "worker SIGKILLed mid-generation",
    "kill-saving": "worker SIGKILLed while storing an image",
    "flush": "Redis FLUSHALL",
    "restart": "Redis restarted empty",
    "duplicate": "duplicate delivery",
    "disk-full": "disk full while storing",
    "db-lost": "database connection lost (PostgreSQL)",
}
JOB = dict(width=128, height=128, num_inference_steps=16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--each", type=int, default=20, help="injections of each fault kind")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backlog", type=int, default=4, help="jobs kept waiting in the queue")
    parser.add_argument("--wait", type=float, default=120, help="longest wait for a fault's moment (s)")
    parser.add_argument("--settle", type=float, default=600, help="time for the jobs to finish after the last fault (s)")
    parser.add_argument("--kinds", default="", help=f"fault kinds, comma-separated (of {', '.join(KINDS)}; default all, "
                                                    "db-lost only with a PostgreSQL --database)")
    parser.add_argument("--database", default="", help="a PostgreSQL database the soak may empty (postgres://...); "
                                                       "default a scratch SQLite file. db-lost needs PostgreSQL.")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()] or [
        kind for kind in KINDS if kind != "db-lost" or args.database.startswith("postgres")]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    if "db-lost" in kinds and not args.database.startswith("postgres"):
        parser.error("db-lost ends the workers' PostgreSQL sessions: give --database postgres://... (or leave db-lost out)")
    rng = random.Random(7)
    scratch = Path(tempfile.mkdtemp(prefix="sdstudio-chaos-"))
    from sdstudio.localredis import free_port, start_redis

    port = free_port()
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": args.database or f"sqlite:///{scratch / 'chaos.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "SDSTUDIO_MODEL": "embedded-random",
        "SDSTUDIO_TORCH_THREADS": "1",
        "SDSTUDIO_HEARTBEAT_STALE_SECONDS": "4",
        "SDSTUDIO_RECONCILE_INTERVAL": "3",
        "SDSTUDIO_MAX_ATTEMPTS": "50",
        "SDSTUDIO_PROGRESS_INTERVAL": "0.1",
        "SDSTUDIO_C2PA_DEV_SIGNING": "0",
        "HF_HUB_OFFLINE": "1",
    })
    redis = start_redis(port=port, directory=scratch / "redis")
    import django

    django.setup()
    from django.core.management import call_command

    from generation import services
    from generation.models import GenerationJob, Status

    call_command("migrate", verbosity=0)
    if args.database:
        call_command("flush", interactive=False, verbosity=0)  # a database given for the soak starts empty
    call_command("reconcile_jobs", stdout=open(os.devnull, "w"))  # builds the model once before the workers start

    class Worker:
        """A real `rqworker generation` whose storage pauses 0.6 s before writing an output (marker file first)."""

        def __init__(self, slot: int):
            self.markers = scratch / f"markers-{slot}"
            self.markers.mkdir(exist_ok=True)
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "generation.tests.slow_storage_settings",
                   "SDSTUDIO_TEST_MARKER_DIR": str(self.markers), "SDSTUDIO_TEST_SAVE_SECONDS": "0.6"}
            self.log = scratch / f"worker-{slot}-{time.monotonic_ns()}.log"
            self.process = subprocess.Popen([sys.executable, "manage.py", "rqworker", "generation"], cwd=ROOT, env=env,
                                            stdout=self.log.open("w"), stderr=subprocess.STDOUT)
            self.name = f"{os.uname().nodename}:{self.process.pid}"

        def kill(self) -> None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    workers = [Worker(slot) for slot in range(args.workers)]
    injected: dict[str, int] = defaultdict(int)
    hit: dict[str, set[int]] = defaultdict(set)
    waited_out: dict[str, int] = defaultdict(int)
    respawned = 0
    exit_reasons: dict[str, int] = defaultdict(int)
    created = 0
    started = time.monotonic()

    def feed() -> None:
        nonlocal created
        waiting = GenerationJob.objects.filter(status=Status.QUEUED).count()
        for _ in range(max(0, args.backlog - waiting)):
            services.job_create(prompt=f"chaos {created}", seed=created, model_id="embedded-random", **JOB)
            created += 1

    def keep_workers_up() -> None:
        nonlocal respawned
        for slot, worker in enumerate(workers):
            if worker.process.poll() is not None:
                lines = [line for line in worker.log.read_text(errors="replace").splitlines() if line.strip()]
                errors = [line for line in lines if "Error" in line or "quitting" in line]
                exit_reasons[(errors[-1] if errors else lines[-1] if lines else "no output")[-160:]] += 1
                workers[slot] = Worker(slot)
                respawned += 1

    def wait_for(condition, kind: str):
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            keep_workers_up()
            feed()
            found = condition()
            if found:
                return found
            time.sleep(0.05)
        waited_out[kind] += 1
        return None

    def running_mid_generation():
        for worker in workers:
            jobs = list(GenerationJob.objects.filter(status=Status.RUNNING, worker_name=worker.name, progress_step__gte=2)
                        .exclude(progress_step__gte=JOB["num_inference_steps"] - 2).values_list("pk", flat=True))
            if jobs:
                return worker, jobs
        return None

    def storing_an_image():
        for worker in workers:
            marker = worker.markers / "saving"
            if marker.exists():
                name = marker.read_text()
                match = re.search(r"/job(\d+)-", name)
                if match is None:  # read while the worker was still writing it: look again at the next poll
                    continue
                marker.unlink()
                return worker, [int(match.group(1))]
        return None

    def queued_in_redis():
        jobs = list(GenerationJob.objects.filter(status=Status.QUEUED).exclude(rq_job_id="").values_list("pk", flat=True))
        return jobs if jobs and services.get_queue("embedded-random").count else None

    def end_database_sessions() -> int:
        """What a PostgreSQL restart or failover does to the workers: every other session on the database ends."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    plan = [kind for kind in kinds for _ in range(args.each)]
    rng.shuffle(plan)
    try:
        for number, kind in enumerate(plan, 1):
            if kind in ("kill-running", "kill-saving"):
                if kind == "kill-saving":
                    for worker in workers:  # only a save that starts from now on counts
                        (worker.markers / "saving").unlink(missing_ok=True)
                found = wait_for(running_mid_generation if kind == "kill-running" else storing_an_image, kind)
                if found:
                    worker, jobs = found
                    worker.kill()
                    workers[workers.index(worker)] = Worker(workers.index(worker))
                    hit[kind].update(jobs)
                    injected[kind] += 1
            elif kind == "disk-full":
                for worker in workers:
                    (worker.markers / "saving").unlink(missing_ok=True)
                found = wait_for(storing_an_image, kind)
                if found:
                    worker, jobs = found
                    (worker.markers / "disk-full").touch()  # the save under way fails with ENOSPC after its pause
                    time.sleep(1.0)
                    (worker.markers / "disk-full").unlink(missing_ok=True)
                    hit[kind].update(jobs)
                    injected[kind] += 1
            elif kind == "db-lost":
                found = wait_for(lambda: running_mid_generation() or storing_an_image(), kind)
                if found and end_database_sessions():
                    hit[kind].update(found[1])
                    injected[kind] += 1
            elif kind in ("flush", "restart"):
                jobs = wait_for(queued_in_redis, kind)
                if jobs:
                    if kind == "flush":
                        services.get_queue().connection.flushall()
                    else:
                        redis.terminate()
                        redis.wait()
                        time.sleep(0.5)
                        redis = start_redis(port=port, directory=scratch / "redis")
                    hit[kind].update(jobs)
                    injected[kind] += 1
            else:
                target = wait_for(lambda: list(GenerationJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
                                               .values_list("pk", flat=True)[:20]), kind)
                if target:
                    pk = rng.choice(target)
                    services.get_queue("embedded-random").enqueue(services.TASK_PATH, pk, job_id=f"chaos-duplicate-{number}")
                    hit[kind].add(pk)
                    injected[kind] += 1
            time.sleep(rng.uniform(0.2, 1.0))
            print(f"\rfaults {number}/{len(plan)} ({dict(injected)}), jobs {created}, {time.monotonic() - started:.0f} s   ",
                  end="", flush=True)
        print()
        settle_until = time.monotonic() + args.settle
        while time.monotonic() < settle_until:
            keep_workers_up()
            call_command("reconcile_jobs", stdout=open(os.devnull, "w"))
            open_jobs = GenerationJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).count()
            print(f"\rsettling: still open {open_jobs}   ", end="", flush=True)
            if open_jobs == 0:
                break
            time.sleep(1)
        print()
    finally:
        for worker in workers:
            worker.process.terminate()
        for worker in workers:
            try:
                worker.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        redis.terminate()
    rows = {job.pk: job for job in GenerationJob.objects.all()}

    def lost(job) -> bool:
        return job.status == Status.SUCCEEDED and not (job.output and job.output.storage.exists(job.output.name))

    def stuck(job) -> bool:
        return job.status in (Status.QUEUED, Status.RUNNING)

    print("\n| fault | injected | jobs hit | lost | stuck | retried | failed |\n| --- | --: | --: | --: | --: | --: | --: |")
    for kind, label in KINDS.items():
        if kind not in kinds:
            continue
        jobs = [rows[pk] for pk in hit[kind]]
        print(f"| {label} | {injected[kind]} | {len(jobs)} | {sum(map(lost, jobs))} | {sum(map(stuck, jobs))} | "
              f"{sum(job.attempts > 1 for job in jobs)} | {sum(job.status == Status.FAILED for job in jobs)} |")
    everything = list(rows.values())
    print(f"\nall jobs: {len(everything)}; succeeded {sum(j.status == Status.SUCCEEDED for j in everything)}; "
          f"lost {sum(map(lost, everything))}; stuck {sum(map(stuck, everything))}; "
          f"failed {sum(j.status == Status.FAILED for j in everything)}; attempts max {max(j.attempts for j in everything)}; "
          f"workers that exited on their own (restarted) {respawned}; moments not found in {args.wait:.0f} s "
          f"{dict(waited_out) or 0}; {time.monotonic() - started:.0f} s")
    for reason, count in sorted(exit_reasons.items(), key=lambda item: -item[1]):
        print(f"  a worker exited {count}x: {reason}")
    print(f"worker logs: {scratch}")
    for job in everything:
        if job.status == Status.FAILED:
            print(f"  failed job {job.pk}: {job.error}")
    if any(map(lost, everything)) or any(map(stuck, everything)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
