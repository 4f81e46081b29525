"""A campaign at catalog scale: 500 products x 3 formats (1,500 jobs) over 10,000 products and 100,000 jobs.

    python bench/campaign.py [--products 10000] [--jobs 100000] [--campaign-products 500] [--clients 8] [--seconds 10]

On PostgreSQL (``--database-url``, default a scratch database ``sdstudio_bench_campaign`` on 127.0.0.1, dropped and
made again) with a private redis-server: builds the volume with ``make_volume --shared-files``, then prints

- the seconds to create the campaign and enqueue its first jobs (one transaction, bulk insert; the feed after commit),
- the campaign page's and its grid's p50 / p95 under N keep-alive clients behind gunicorn (as bench/load.py does),
  beside the campaign list and the login page (no query of its own: the floor of this machine under that load),
- the web workers' memory (RSS) before and after those requests.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/sdstudio_bench_campaign"


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def web_workers(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--campaign-products", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    args = parser.parse_args()
    from sdstudio.localredis import free_port, start_redis

    scratch = Path(tempfile.mkdtemp(prefix="sdstudio-campaign-"))
    redis_port = free_port()
    redis = start_redis(port=redis_port, directory=scratch / "redis")
    recreate_database(args.database_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MEDIA_ROOT": str(scratch / "media"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client

    from catalog.models import Product
    from generation import campaigns, services
    from generation.models import GenerationJob

    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.perf_counter()
        call_command("make_volume", jobs=args.jobs, products=args.products, shared_files=True)
        print(f"volume: {Product.objects.count()} products, {GenerationJob.objects.count()} jobs in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
        skus = list(Product.objects.order_by("sku").values_list("sku", flat=True)[: args.campaign_products])
        started = time.perf_counter()
        with transaction.atomic():
            campaign = campaigns.campaign_create(name="Summer collection", mode="text2img",
                                                 prompt_template="{name} on a wooden table, soft light",
                                                 selection={"skus": skus}, formats=["square", "portrait", "landscape"],
                                                 user=admin)
        create_seconds = time.perf_counter() - started  # the commit and its feed included
        made = GenerationJob.objects.filter(campaign=campaign).count()
        fed = services.get_queue(campaign.model_id, campaign=True).count
        print(f"\ncampaign: {made} jobs created and its first {fed} enqueued in {create_seconds:.2f} s (target <= 3 s)\n", flush=True)

        client = Client()
        client.force_login(admin)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        from load import hammer, start_gunicorn, table

        server, port = start_gunicorn(env, args.web_workers)
        try:
            # the last, a page with no query of its own: this machine's floor under the same load
            pages = [f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/grid/", "/campaigns/", "/accounts/login/"]
            for page in pages:  # one request each: every worker imports and warms up before the memory reading
                hammer(port, page, cookie, args.web_workers, 1.0)
            before = sum(rss_kb(pid) for pid in web_workers(server.pid))
            print(f"{args.clients} clients x {args.seconds:.0f} s per page, gunicorn {args.web_workers} workers\n")
            table(port, pages, cookie, args.clients, args.seconds)
            after = sum(rss_kb(pid) for pid in web_workers(server.pid))
            print(f"\nweb workers' memory: {before / 1024:.1f} MB before, {after / 1024:.1f} MB after "
                  f"({(after - before) / 1024:+.1f} MB; target < 50 MB)")
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        redis.terminate()
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
