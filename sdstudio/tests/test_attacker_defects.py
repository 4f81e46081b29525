"""Inputs an attacker (or an unlucky user) sends: each is refused with a 4xx and a sentence, never a 500, nothing left behind."""
from __future__ import annotations

import io
import ipaddress

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from api.tests.test_api import client_for
from catalog.fetch import FetchRefused, _public, resolve
from conftest import finished_job, png_bytes
from generation.models import Experiment, GenerationJob

pytestmark = pytest.mark.django_db

TINY_JOB = {"prompt": "a red mug", "num_inference_steps": 2, "width": 64, "height": 64}


def test_an_idempotency_key_replayed_after_its_job_was_deleted_is_a_410(merchandiser, redis_server):
    api, _ = client_for(merchandiser)
    first = api.post("/api/jobs/", TINY_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-17")
    assert first.status_code == 201
    GenerationJob.objects.filter(pk=first.json()["id"]).delete()
    again = api.post("/api/jobs/", TINY_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-17")
    assert again.status_code == 410 and "was deleted" in again.json()["detail"]


def test_an_idempotency_key_over_255_characters_is_refused_not_cut(merchandiser, redis_server):
    api, _ = client_for(merchandiser)
    # two keys that differ only after their 255th character would collide if cut
    first = api.post("/api/jobs/", TINY_JOB, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255 + "A")
    assert first.status_code == 400 and "256 characters long; the limit is 255" in first.json()["detail"]
    assert not GenerationJob.objects.exists()
    # exactly 255 is fine
    assert api.post("/api/jobs/", TINY_JOB, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 201


@pytest.mark.parametrize("url", ["/api/jobs/", "/api/products/", "/api/jobs/{job}/evaluation/", "/api/jobs/{job}/decision/"])
def test_a_deeply_nested_json_body_is_a_400_and_roles_are_checked_before_parsing(merchandiser, reviewer, url):
    job = finished_job()
    body = "[" * 100_000 + "]" * 100_000
    # a role allowed to post gets a 400 with the parser's reason
    allowed = merchandiser if url in ("/api/jobs/", "/api/products/") else reviewer
    api, _ = client_for(allowed)
    response = api.generic("POST", url.format(job=job.pk), body, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    # a role that may not post is refused before the body is read: 403, whatever the body
    other = reviewer if allowed == merchandiser else merchandiser
    api, _ = client_for(other)
    response = api.generic("POST", url.format(job=job.pk), body, content_type="application/json")
    assert response.status_code == 403


def test_the_api_refuses_a_model_no_worker_serves_and_none_configured(merchandiser, redis_conn, settings):
    api, _ = client_for(merchandiser)
    response = api.post("/api/jobs/", {**TINY_JOB, "model": "../../../etc/passwd"}, format="json")
    assert response.status_code == 400 and "No worker serves “../../../etc/passwd”" in response.json()["model"][0]
    assert not GenerationJob.objects.exists() and not redis_conn.keys("rq:queue:generation--*")
    # the configured embedded models, those of SDSTUDIO_MODELS and any a worker has served are accepted
    settings.SDSTUDIO_MODELS = ["acme/sd15-finetune"]
    from generation import services

    redis_conn.hset(services.MODELS_KEY, services.queue_name("local/served-model"), "local/served-model")
    for model in ("embedded", "embedded-random", "acme/sd15-finetune", "local/served-model"):
        assert api.post("/api/jobs/", {**TINY_JOB, "model": model}, format="json").status_code == 201, model


@pytest.mark.parametrize("value", ["\u00b2", "9223372036854775808", "9" * 20, "-1", " 1 2"])
def test_ids_in_urls_and_forms_that_are_no_row_id_are_ignored_not_a_500(client, merchandiser, reviewer, photo, value):
    client.force_login(merchandiser)
    page = client.get(f"/jobs/new/?product={photo.product.sku}&source_photo={value}")
    assert page.status_code == 200
    client.force_login(reviewer)
    assert client.get(f"/review/?experiment={value}").status_code == 200
    response = client.post("/review/decide/", {"job": [value], "decision": "approved"})
    assert response.status_code == 302  # back to the queue, with "Select at least one output."
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Select at least one output."]


def test_two_identical_sweeps_in_the_same_second_both_start(admin_user, redis_server):
    from generation import experiments

    baseline = finished_job(created_by=admin_user)
    first = experiments.sweep_create(baseline=baseline, parameter="seed", values=[1, 2], user=admin_user)
    second = experiments.sweep_create(baseline=baseline, parameter="seed", values=[1, 2], user=admin_user)
    assert first.name != second.name and second.name.startswith(first.name)
    assert Experiment.objects.count() == 2 and GenerationJob.objects.filter(experiment=second).count() == 2
    # a name given by hand that is taken is a sentence on the name field
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        experiments.sweep_create(baseline=baseline, parameter="seed", values=[3], user=admin_user, name=first.name)
    assert "already named" in caught.value.message_dict["name"][0]


def test_the_rq_dashboard_answers_404_for_a_queue_that_does_not_exist(client, admin_user, redis_server):
    client.force_login(admin_user)
    assert client.get("/django-rq/queues/0/").status_code == 200
    assert client.get("/django-rq/queues/99/").status_code == 404


def test_a_job_refused_after_its_upload_was_stored_leaves_no_file(client, merchandiser, product, redis_server):
    # given the job form with a new photo upload, and a parameter the service refuses after the upload is stored
    client.force_login(merchandiser)
    before = {folder: set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()
              for folder in ("photos", "thumbs", "masks")}
    # (a flat photo: no product stands out, so a scene cannot be made from it)
    upload = io.BytesIO(png_bytes((256, 256), (180, 40, 40)))
    upload.name = "new.png"
    response = client.post("/jobs/new/", {"mode": "scene", "product": product.sku, "prompt": "a mug", "upload": upload,
                                          "num_inference_steps": 2, "guidance_scale": 7.5, "scheduler": "euler_a",
                                          "width": 64, "height": 64, "variants": 1, "product_scale": 0.6,
                                          "product_x": 0.5, "product_y": 0.55, "edges": "matte", "shadow": "contact", "shadow_opacity": 0.5, "shadow_softness": 0.06, "light": 0})
    # then the form says why, and neither the photo row nor any of its files is left
    assert response.status_code == 400 and "paint the product" in response.content.decode()
    assert not product.photos.exists() and not GenerationJob.objects.exists()
    after = {folder: set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()
             for folder in before}
    assert after == before


@pytest.mark.parametrize("address", ["2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::",  # 6to4 of 127.0.0.1, 10.0.0.1, metadata
                                     "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo whose client is 192.0.2.45
                                     "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe"])  # NAT64 of loopback and metadata
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address):
    assert not _public(address)


def test_ipv6_forms_of_public_ipv4_addresses_stay_public():
    # 6to4 and NAT64 of 8.8.8.8 are judged by that address (public); a plain global IPv6 address too
    assert _public("2002:808:808::1") and _public("64:ff9b::808:808") and _public("2606:4700:4700::1111")
    assert ipaddress.ip_address("2002:808:808::1").sixtofour == ipaddress.ip_address("8.8.8.8")


def test_a_host_name_the_idna_codec_refuses_is_a_sentence():
    with pytest.raises(FetchRefused, match="not a valid host name"):
        resolve("a" * 64 + ".example", 80)


def test_an_upload_with_a_huge_icc_profile_is_stored_as_a_file_the_app_can_reopen(client, merchandiser, product):
    from PIL import PngImagePlugin

    from catalog.services import photo_add
    from sdstudio.images import open_image

    from PIL import ImageCms

    # given a JPEG carrying a 2 MB colour profile (over the 1 MB Pillow accepts in a PNG's iCCP chunk when reading)
    profile = b"\0" * (2 * 1024 * 1024)
    assert len(profile) > PngImagePlugin.MAX_TEXT_CHUNK
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 90, 200)).save(buffer, format="JPEG", quality=100, icc_profile=profile)
    photo, notes = photo_add(product=product, data=buffer.getvalue(), name="huge-icc.jpg")
    # then the stored photo opens again (pages, masks and jobs read it), without the profile, and says what was done
    stored = open_image(photo.image)
    assert stored.size == (256, 256) and "icc_profile" not in stored.info
    assert notes == ["The photo's colour profile could not be read: it was dropped and its colours taken as sRGB."]
    client.force_login(merchandiser)
    assert client.get(f"/catalog/{product.sku}/photos/{photo.pk}/mask.png?automatic=1").status_code == 200
    # and a photo tagged sRGB is stored without its profile, its pixels untouched
    tagged = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 255, 0)).save(tagged, format="PNG",
                                                icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    photo, notes = photo_add(product=product, data=tagged.getvalue(), name="srgb.png")
    assert notes == [] and "icc_profile" not in open_image(photo.image).info
    assert open_image(photo.image).getpixel((5, 5)) == (0, 255, 0)  # an sRGB profile leaves the pixels as they are
