"""Shared fixtures: the private Redis, real worker processes, users in their roles, products and photos."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent


class PrivateRedis:
    """The suite's own redis-server (no persistence): tests may flush it, stop it and start it again."""

    def __init__(self, port: int, directory: Path):
        self.port, self.directory, self.process = port, directory, None

    def start(self) -> None:
        from sdstudio.localredis import start_redis

        self.process = start_redis(port=self.port, directory=self.directory)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server for the whole run, on the port the test settings point at."""
    server = PrivateRedis(int(os.environ["SDSTUDIO_TEST_REDIS_PORT"]), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(redis_server):
    import django_rq

    if not redis_server.running:  # a previous test stopped it
        redis_server.start()
    conn = django_rq.get_connection("generation")
    conn.flushall()
    yield conn
    conn.flushall()


def database_url() -> str:
    """The URL of the *test* database, for worker processes started by a test."""
    from django.db import connection

    data = connection.settings_dict
    if data["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{data['NAME']}"
    auth = data["USER"] + (f":{data['PASSWORD']}" if data.get("PASSWORD") else "")
    return f"postgres://{auth}@{data['HOST'] or '127.0.0.1'}:{data['PORT'] or 5432}/{data['NAME']}"


def worker_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SDSTUDIO_MODEL_CACHE": str(settings.SDSTUDIO_MODEL_CACHE),
        "SDSTUDIO_TORCH_THREADS": "1",
        "SDSTUDIO_PROGRESS_INTERVAL": "0",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "LC_ALL": "C.UTF-8",  # manage.py speaks the shell's language: the tests read its English
    }
    env.update(overrides)
    return env


def start_worker(*args: str, **env: str) -> subprocess.Popen:
    """A real `manage.py rqworker generation` process (the configured GenerationWorker)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "generation", *args],
        cwd=ROOT, env=worker_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


GATED_WORKER = ("--worker-class", "generation.tests.gated_worker.GatedWorker")


def run_worker_burst(timeout: float = 300, *, args: tuple[str, ...] = (), **env: str) -> str:
    """Run a burst worker until the queue is empty; returns its log, failing the test if it crashed."""
    process = start_worker("--burst", *args, **env)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"worker did not finish in {timeout} s:\n{output}")
    assert process.returncode == 0, output
    return output


@pytest.fixture
def burst_worker(redis_conn, transactional_db):
    return run_worker_burst


def run_shop_worker_burst(timeout: float = 120, **env: str) -> str:
    """The shop queue's worker (imports that fetch images) until its queue is empty."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "shop", "--burst", "--worker-class", "catalog.worker.ShopWorker"],
        cwd=ROOT, env=worker_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def make_user(username: str, group: str | None = None, **extra):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password="pass-for-tests-1", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def merchandiser(db):
    return make_user("merch", "Merchandisers")


@pytest.fixture
def reviewer(db):
    return make_user("reviewer", "Reviewers")


@pytest.fixture
def admin_user(db):
    return make_user("boss", None, is_staff=True, is_superuser=True)


def png_bytes(size=(96, 96), color=(120, 60, 30), mode="RGB", fmt="PNG", **save) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.fixture
def product(db):
    from catalog.models import Product

    return Product.objects.create(sku="SKU-1", name="Black headphones", category="Audio")


@pytest.fixture
def photo(product):
    from catalog.demo_data import DEMO_PHOTO
    from catalog.services import photo_add

    return photo_add(product=product, data=DEMO_PHOTO.read_bytes(), name="headphones.png")[0]


TINY = {"width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture(scope="session")
def loaded():
    """The embedded model loaded in the test process (built once into the shared cache)."""
    import torch

    from generation import modelinfo
    from generation.inference import pipelines

    torch.set_num_threads(1)
    return pipelines.get_pipelines(modelinfo.inference_config())


def finished_job(**changes):
    """A succeeded job with a real PNG output, without running a model (for page and permission tests)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone
    from PIL import Image

    from generation import pngmeta
    from generation.models import GenerationJob
    from sdstudio.images import pixels_sha256, thumbnail_png

    image = Image.new("RGB", (64, 64), (30, 30, 30))
    params = dict(prompt="sleek black wireless headphones", seed=42, num_inference_steps=2, guidance_scale=7.5,
                  scheduler="euler_a", width=64, height=64)
    params.update(changes)
    job = GenerationJob.objects.create(**params)
    name = default_storage.save(f"outputs/test/job{job.pk}.png", ContentFile(pngmeta.encode_png(image, job.parameters())))
    thumb = default_storage.save(f"thumbs/test/job{job.pk}.png", ContentFile(thumbnail_png(image)))
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(
        status="succeeded", output=name, thumbnail=thumb, output_sha256=pixels_sha256(image),
        started_at=now, finished_at=now, inference_seconds=0.1, seconds_per_step=0.05, progress_step=2, progress_total=2,
        environment={"model": "sdstudio-embedded-sd15-v1", "device": "cpu"},
    )
    job.refresh_from_db()
    return job


ARTIFACTS = ROOT / "test-artifacts"


def chromium_path() -> str:
    import shutil

    path = os.environ.get("SDSTUDIO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium, or set SDSTUDIO_CHROMIUM.")
    return path


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the tests still use the ORM here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")  # pages follow Accept-Language
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Every page a browser test opens is also checked against the Content Security Policy: a blocked script,
    # style or image is a console error naming the policy.
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()
    assert not blocked, f"the Content Security Policy blocked: {blocked}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass-for-tests-1")
    page.click("main button[type=submit]")  # not the header's language switch
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def live_worker(redis_conn, transactional_db):
    """A worker process running in the background for the test's duration (not burst)."""
    process = start_worker(SDSTUDIO_PROGRESS_INTERVAL="0.2")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles count in Django's cache (per process): each test starts with none of another test's requests."""
    from django.core.cache import cache

    cache.clear()
    yield
