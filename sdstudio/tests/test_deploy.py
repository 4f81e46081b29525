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
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


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
