"""Production settings come from the environment and pass Django's deployment checks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "sdstudio.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "k3y" * 12,
    "DJANGO_ALLOWED_HOSTS": "studio.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, "LC_ALL": "C.UTF-8", **env},
                          capture_output=True, text=True)


def test_check_deploy_is_clean_with_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start_and_says_how():
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is empty" in result.stderr and "secrets.token_urlsafe" in result.stderr


def test_a_bad_boolean_is_named():
    result = manage("check", **{**PRODUCTION, "DJANGO_DEBUG": "maybe"})
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_login_is_throttled(client, db):
    from conftest import make_user

    make_user("target")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "target", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "target", "password": "pass-for-tests-1"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_forms_need_csrf(db, merchandiser):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(merchandiser)
    assert strict.post("/jobs/new/", {"prompt": "x"}).status_code == 403


def test_the_documented_production_start_serves_pages_and_static_files(tmp_path, redis_server):
    import re
    import signal
    import time
    import urllib.request

    from django.conf import settings as django_settings

    from sdstudio.localredis import free_port

    # given the production environment on loopback, started as the README says (make serve)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env = {**clean, **PRODUCTION, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media"),
           "REDIS_URL": django_settings.REDIS_URL, "PORT": str(port), "WEB_CONCURRENCY": "1", "SDSTUDIO_TORCH_THREADS": "1"}
    formation = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        base, page, deadline = f"http://127.0.0.1:{port}", None, time.monotonic() + 180
        while page is None and time.monotonic() < deadline and formation.poll() is None:
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5) as response:
                    page = (response.status, response.read().decode())
            except OSError:
                time.sleep(0.5)
        assert page is not None, formation.stdout.read() if formation.poll() is not None else "no answer in 180 s"
        # then the login page answers, and its stylesheet is served under its hashed name (WhiteNoise)
        assert page[0] == 200 and "Log in" in page[1]
        stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page[1]).group(1)
        with urllib.request.urlopen(base + stylesheet, timeout=5) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
        # and the worker of the formation is up beside the web app (it is not stopped by a finished release step)
        time.sleep(1)
        assert formation.poll() is None
    finally:
        os.killpg(formation.pid, signal.SIGTERM)
        try:
            formation.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:  # nothing of the formation outlives the test
            os.killpg(formation.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
