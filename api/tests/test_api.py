"""The REST API with real tokens, a real worker and the real OpenAPI document."""
from __future__ import annotations

import io
import json
import time

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image
from rest_framework.test import APIClient

from api.models import ApiToken
from catalog.demo_data import DEMO_PHOTO
from generation.models import GenerationJob


def client_for(user) -> tuple[APIClient, str]:
    _, raw = ApiToken.issue(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, raw


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_shop_system_creates_a_product_uploads_a_photo_and_gets_its_image(merchandiser, reviewer, live_worker):
    api, raw = client_for(merchandiser)
    assert ApiToken.objects.get().key_hash != raw and raw not in ApiToken.objects.get().key_hash  # stored hashed
    # a product
    response = api.post("/api/products/", {"sku": "HP-API-1", "name": "Headphones from the API"}, format="json")
    assert response.status_code == 201, response.content
    assert api.post("/api/products/", {"sku": "bad sku!", "name": "x"}, format="json").status_code == 400
    # a photo through the intake
    with open(DEMO_PHOTO, "rb") as handle:
        response = api.post("/api/products/HP-API-1/photos/", {"image": handle}, format="multipart")
    assert response.status_code == 201, response.content
    photo = response.json()
    assert photo["width"] == 768 and photo["mask_source"] == "automatic"
    response = api.post("/api/products/HP-API-1/photos/", {"image": io.BytesIO(b"not an image")}, format="multipart")
    assert response.status_code == 400 and "not a JPEG, PNG or WebP" in json.dumps(response.json())
    # an img2img job, sent twice with the same Idempotency-Key (a retry after a lost answer): one job
    body = {"mode": "img2img", "prompt": "the headphones on white marble", "product": "HP-API-1", "source_photo": photo["id"],
            "strength": 0.6, "num_inference_steps": 4, "width": 64, "height": 64, "seed": 5}
    first = api.post("/api/jobs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1234-image-1")
    second = api.post("/api/jobs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1234-image-1")
    assert first.status_code == 201 and second.status_code == 200, (first.content, second.content)
    assert first.json()["id"] == second.json()["id"] and second["Idempotent-Replayed"] == "true"
    assert GenerationJob.objects.count() == 1
    conflict = api.post("/api/jobs/", {**body, "seed": 6}, format="json", HTTP_IDEMPOTENCY_KEY="order-1234-image-1")
    assert conflict.status_code == 409
    bad = api.post("/api/jobs/", {**body, "strength": 0}, format="json")
    assert bad.status_code == 400 and "strength" in bad.json()
    # polled to the end on a real worker, then downloaded
    job_id = first.json()["id"]
    deadline = time.monotonic() + 180
    while True:
        state = api.get(f"/api/jobs/{job_id}/").json()
        if state["status"] in ("succeeded", "failed", "canceled") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert state["status"] == "succeeded", state
    download = api.get(state["output_url"].removeprefix("http://testserver"))
    png = b"".join(download.streaming_content)
    assert download["Content-Type"] == "image/png" and png == GenerationJob.objects.get().output.open("rb").read()
    assert "Denoising strength: 0.6" in Image.open(io.BytesIO(png)).text["parameters"]
    # a merchandiser's token cannot decide; a reviewer's can, and the approval brings the public link
    assert api.post(f"/api/jobs/{job_id}/decision/", {"decision": "approved"}, format="json").status_code == 403
    reviewer_api, _ = client_for(reviewer)
    scores = {"prompt_adherence": 2, "visual_realism": 1, "artifacts": 2, "ecommerce_usability": 1, "reproducibility": 2}
    assert reviewer_api.post(f"/api/jobs/{job_id}/evaluation/", scores, format="json").json()["total"] == 8
    decided = reviewer_api.post(f"/api/jobs/{job_id}/decision/", {"decision": "approved"}, format="json")
    assert decided.status_code == 201 and decided.json()["public_url"].endswith(".png")
    assert reviewer_api.post("/api/jobs/", body, format="json").status_code == 403  # reviewers do not start jobs


@pytest.mark.django_db
def test_a_scene_job_can_be_started_with_its_own_mask(merchandiser, photo, django_capture_on_commit_callbacks):
    api, _ = client_for(merchandiser)
    mask = Image.new("L", (768, 768), 0)
    mask.paste(255, (200, 200, 560, 560))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "mask.png"
    body = {"mode": "scene", "prompt": "headphones on a wooden table", "source_photo": photo.pk, "mask": buffer,
            "num_inference_steps": 2, "width": 64, "height": 64}
    response = api.post("/api/jobs/", body, format="multipart")
    assert response.status_code == 201, response.content
    job = GenerationJob.objects.get()
    assert job.mode == "scene" and job.product_scale == 0.6
    stored = Image.open(job.mask.open("rb"))
    assert stored.getpixel((300, 300)) == 255 and stored.getpixel((10, 10)) == 0
    small = io.BytesIO()
    Image.new("L", (10, 10), 255).save(small, format="PNG")
    small.seek(0)
    small.name = "mask.png"
    response = api.post("/api/jobs/", {**body, "mask": small}, format="multipart")
    assert response.status_code == 400 and "is 10x10 px but the photo is 768x768 px" in json.dumps(response.json())


@pytest.mark.django_db
def test_tokens_are_made_and_revoked_by_their_user(client, merchandiser):
    client.force_login(merchandiser)
    page = client.post("/api/tokens/", {"name": "Shopify sync"}).content.decode()
    raw = page.split('id="new-token"')[1].split("<code>")[1].split("</code>")[0]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/products/").status_code == 200
    token = ApiToken.objects.get()
    client.post("/api/tokens/", {"action": "revoke", "token_id": token.pk})
    response = api.get("/api/products/")
    assert response.status_code == 401 and "not valid" in response.json()["detail"]
    assert APIClient().get("/api/products/").status_code == 401  # no token, no session: nothing


def api_routes() -> set[str]:
    """Every URL pattern under /api/ (but the schema, docs and token pages), as OpenAPI paths."""
    import re

    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = (prefix + str(pattern.pattern)).replace("^", "").replace("$", "")
                if route.startswith("api/") and "format" not in route and not route.startswith(("api/schema", "api/docs", "api/tokens")):
                    path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
                    found.add(path.replace("\\.", ".").replace("{pk}", "{id}"))  # OpenAPI names a pk by its field, id

    walk(get_resolver().url_patterns, "")
    return {p for p in found if p != "/api/"}


@pytest.mark.django_db
def test_the_openapi_document_validates_and_lists_every_endpoint(client, merchandiser):
    from openapi_spec_validator import validate

    client.force_login(merchandiser)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = json.loads(response.content)
    validate(document)
    assert document["openapi"].startswith("3.")
    routes = api_routes()
    assert len(routes) >= 12, routes
    assert routes <= set(document["paths"]), routes - set(document["paths"])
    job_create = document["paths"]["/api/jobs/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in job_create["parameters"])
    assert "scene" in json.dumps(document["components"]["schemas"]["JobCreateRequest"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()  # the docs page's assets are served locally
