"""Who may do what beyond the roles' pages: logins without a role, the feed link, mask edits; production's headers."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from api.tests.test_api import client_for
from conftest import finished_job, make_user
from sdstudio.tests.test_deploy import PRODUCTION, manage

pytestmark = pytest.mark.django_db


def test_a_login_without_a_role_sees_a_page_that_says_to_ask_an_admin(client, product, redis_server):
    # given a login made in the admin and never given a role
    nobody = make_user("new-colleague")
    job = finished_job(product=product)
    client.force_login(nobody)
    # when it opens the catalog, a job, its image, an export or the review queue
    for url in ("/", reverse("catalog:product_list"), reverse("catalog:product_detail", args=[product.sku]),
                job.get_absolute_url(), job.output.url, reverse("catalog:shopify_export"), reverse("generation:job_list")):
        response = client.get(url)
        # then each answers 403 with the same sentence, and shows nothing of the catalog
        assert response.status_code == 403, url
        assert "Ask an administrator to add you to Merchandisers or Reviewers" in response.content.decode(), url
        assert product.name not in response.content.decode(), url
    # its menu offers nothing but logging out, and its account pages still work
    page = client.get("/").content.decode()
    assert "Log out new-colleague" in page and f'href="{reverse("catalog:product_list")}"' not in page
    assert client.get(reverse("password_change")).status_code == 200
    # and its API token reads nothing either
    api, _ = client_for(nobody)
    response = api.get("/api/products/")
    assert response.status_code == 403 and "no role" in response.json()["detail"]
    # once an admin gives it a role, it reads the catalog
    from django.contrib.auth.models import Group

    nobody.groups.add(Group.objects.get(name="Reviewers"))
    assert client.get(reverse("catalog:product_list")).status_code == 200


def test_only_an_administrator_replaces_the_feed_link(client, merchandiser, admin_user):
    from catalog.models import FeedToken

    client.force_login(admin_user)
    client.post(reverse("catalog:shop"), {"action": "new_token"})
    token = FeedToken.objects.get(revoked_at__isnull=True).token
    # a merchandiser sees the link but may not replace it (every shop integration would break)
    client.force_login(merchandiser)
    page = client.get(reverse("catalog:shop")).content.decode()
    assert token in page and 'id="new-feed-token"' not in page
    response = client.post(reverse("catalog:shop"), {"action": "new_token"})
    assert response.status_code == 403
    assert FeedToken.objects.get(revoked_at__isnull=True).token == token


def test_every_mask_edit_is_recorded_with_who_and_when(client, merchandiser, photo):
    client.force_login(merchandiser)
    mask = Image.new("L", (photo.width, photo.height), 0)
    mask.paste(255, (200, 200, 500, 500))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/catalog/{photo.product.sku}/photos/{photo.pk}/mask.png",
                           {"mask": SimpleUploadedFile("mask.png", buffer.getvalue(), "image/png")})
    assert response.status_code == 200
    photo.refresh_from_db()
    assert photo.mask_changed_by == merchandiser and photo.mask_changed_at is not None
    page = client.get(photo.get_absolute_url()).content.decode()
    assert 'id="mask-changed">by merch on' in page


def test_production_trusts_x_forwarded_proto_only_when_told_to():
    script = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    assert manage("shell", "-c", script, **PRODUCTION).stdout.strip().splitlines()[-1] == "None"
    told = manage("shell", "-c", script, **PRODUCTION, DJANGO_SECURE_PROXY_SSL_HEADER="1")
    assert told.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')", told.stderr


def test_pages_carry_a_content_security_policy_without_inline_scripts(client, merchandiser):
    client.force_login(merchandiser)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy


def test_password_reset_requests_are_throttled(client, settings, mailoutbox):
    settings.SDSTUDIO_PASSWORD_RESET = True
    make_user("forgetful", email="forgetful@example.com")
    answers = [client.post(reverse("password_reset"), {"email": f"someone{i}@example.com"}).status_code for i in range(5)]
    assert answers == [302] * 5
    # the sixth from the same address within the hour is refused, with why
    response = client.post(reverse("password_reset"), {"email": "forgetful@example.com"})
    assert response.status_code == 429 and "Too many password reset requests" in response.content.decode()
    assert mailoutbox == []


def test_failed_logins_across_many_usernames_from_one_address_are_limited(client, db):
    # one try per username (password spraying) from one address: locked after five failures, whatever the usernames
    make_user("victim")
    for i in range(5):
        client.post("/accounts/login/", {"username": f"user{i}", "password": "Summer2026!"})
    locked = client.post("/accounts/login/", {"username": "victim", "password": "pass-for-tests-1"})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_commands_say_that_no_sd_studio_redis_runs_instead_of_using_the_default_port(tmp_path):
    # given no REDIS_URL and no running `make run` (no URL file where it would leave one)
    import os
    import subprocess
    import sys

    from sdstudio.tests.test_deploy import ROOT

    env = {"DJANGO_SETTINGS_MODULE": "sdstudio.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "SDSTUDIO_LOCAL_REDIS_URL_FILE": str(tmp_path / "no-local-redis-url")}
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    for command in (["generate", "--prompt", "a mug"], ["reconcile_jobs"], ["rqworker", "generation", "--burst"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env={**clean, **env},
                                capture_output=True, text=True, timeout=120)
        # then each stops with the sentence, and nothing was sent to 127.0.0.1:6379
        assert result.returncode != 0, command
        assert "No SD Studio Redis is running" in result.stderr and "make run" in result.stderr, (command, result.stderr[-500:])
    # while `generate --inline`, which runs the job in its own process, needs no Redis at all
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env={**clean, **env}, check=True,
                   capture_output=True, timeout=300)
    result = subprocess.run([sys.executable, "manage.py", "generate", "--inline", "--prompt", "a red mug", "--steps", "2",
                             "--width", "64", "--height", "64"], cwd=ROOT,
                            env={**clean, **env, "MEDIA_ROOT": str(tmp_path / "media"), "SDSTUDIO_TORCH_THREADS": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "succeeded" in result.stdout + result.stderr, result.stderr[-800:]
