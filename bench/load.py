"""Pages under load: SD Studio's list pages behind gunicorn on loopback, with realistic volume.

    python bench/load.py [--jobs 10000] [--clients 8] [--seconds 10]

Builds a scratch database with `make_volume`, serves the app with gunicorn (production settings,
127.0.0.1 only), logs in as an admin, then for each page runs N concurrent keep-alive clients for a
fixed time (bounded in count and time) and prints p50/p95 latency and requests per second.
"""
from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MAX_REQUESTS_PER_PAGE = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sdstudio-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": os.environ.get("LOAD_DATABASE_URL") or f"sqlite:///{scratch / 'load.sqlite3'}",
        "MEDIA_ROOT": str(scratch / "media"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "load-test-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("make_volume", jobs=args.jobs)
    print(f"volume: {args.jobs} jobs in {time.perf_counter() - started:.1f} s", flush=True)
    admin, _ = User.objects.get_or_create(username="load-admin", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(admin)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    sku = "VOL-00007"
    server, port = start_gunicorn(env, args.web_workers)
    try:
        pages = ["/", "/jobs/", "/jobs/?decision=approved", f"/catalog/{sku}/", "/catalog/", "/review/", "/experiments/"]
        print(f"\n{args.clients} clients x {args.seconds:.0f} s per page, gunicorn {args.web_workers} workers, 127.0.0.1:{port}\n")
        table(port, pages, cookie, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn serving SD Studio on a free loopback port, once it answers: (process, port)."""
    from sdstudio.localredis import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sdstudio.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/accounts/login/")
            return server, port
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)


def table(port: int, pages: list[str], cookie: str, clients: int, seconds: float) -> None:
    """Each page under ``clients`` keep-alive clients for ``seconds``: a Markdown table of p50 / p95 and req/s."""
    print("| page | requests | errors | p50 ms | p95 ms | req/s |")
    print("| --- | --: | --: | --: | --: | --: |")
    for page in pages:
        latencies, errors = hammer(port, page, cookie, clients, seconds)
        ordered = sorted(latencies)
        p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")
        print(f"| {page} | {len(latencies)} | {errors} | {statistics.median(ordered) * 1000:.1f} | {p95 * 1000:.1f} | "
              f"{len(latencies) / seconds:.1f} |", flush=True)


def hammer(port: int, path: str, cookie: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at and len(latencies) < MAX_REQUESTS_PER_PAGE:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie, "X-Forwarded-Proto": "https"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


if __name__ == "__main__":
    main()
