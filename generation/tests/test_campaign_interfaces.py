"""Campaigns through the API, the command line and the shop's exports (read back as the shop reads them)."""
from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product
from conftest import finished_job
from generation import campaigns
from generation.models import Campaign, GenerationJob, Status


@pytest.fixture
def mugs(db):
    return [Product.objects.create(sku=f"MUG-{i}", name=f"Mug {i}", vendor="Acme", product_type="Mug", handle=f"mug-{i}")
            for i in range(3)]


@pytest.mark.django_db
def test_the_api_creates_lists_and_pauses_a_campaign(client, merchandiser, reviewer, mugs):
    client.force_login(merchandiser)
    body = {"name": "API", "mode": "text2img", "prompt_template": "{name} by {vendor}", "selection": {"vendor": "Acme"},
            "formats": ["square", {"name": "banner", "width": 1024, "height": 432}], "parameters": {"num_inference_steps": 4}}
    response = client.post("/api/campaigns/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["progress"]["total"] == 6 and data["status"] == "active" and data["progress"]["items"] == 6
    jobs = client.get(f"/api/jobs/?campaign={data['id']}").json()
    assert jobs["count"] == 6 and {j["campaign_format"] for j in jobs["results"]} == {"square", "banner"}
    assert client.post(f"/api/campaigns/{data['id']}/pause/").json()["status"] == "paused"
    bad = client.post("/api/campaigns/", {**body, "name": "Bad", "formats": [{"name": "x", "width": 100, "height": 512}]},
                      content_type="application/json")
    assert bad.status_code == 400 and "multiple of 8" in bad.content.decode()
    client.force_login(reviewer)
    assert client.post("/api/campaigns/", {**body, "name": "Reviewer"}, content_type="application/json").status_code == 403
    assert client.post(f"/api/campaigns/{data['id']}/resume/").status_code == 403


@pytest.mark.django_db
def test_the_command_creates_and_controls_a_campaign(mugs):
    out = io.StringIO()
    call_command("campaign", "create", "CLI", "--mode", "text2img", "--prompt", "{name} on a shelf", "--format", "square",
                 "--format", "banner:1024x432", "--sku", "MUG-0", "--sku", "MUG-2", "--candidates", "2", "--seed", "9", stdout=out)
    campaign = Campaign.objects.get(name="CLI")
    assert f"campaign {campaign.pk} 'CLI': 8 jobs queued" in out.getvalue()
    assert sorted(set(campaign.jobs.values_list("seed", flat=True))) == [9, 10]
    out = io.StringIO()
    call_command("campaign", "cancel", str(campaign.pk), stdout=out)
    assert '"canceled": 8' in out.getvalue() and "[canceled] 8/8 finished" in out.getvalue()
    with pytest.raises(CommandError, match="uses {colour}"):
        call_command("campaign", "create", "Bad", "--prompt", "{colour} mug", "--all")
    with pytest.raises(CommandError, match="No campaign"):
        call_command("campaign", "status", "999")


@pytest.mark.django_db
def test_a_campaigns_export_lists_its_approved_images_per_format_as_the_shop_reads_them(client, reviewer, mugs, tmp_path):
    from evaluation.services import decision_record

    campaign = campaigns.campaign_create(name="Export", mode="text2img", prompt_template="{name}", selection={"product_type": "mug"},
                                         formats=["square", "portrait"], alt_template="{name} · {format}", base_seed=1)
    done = finished_job()
    other = finished_job()  # approved, but not the campaign's
    decision_record(job=other, user=reviewer, decision="approved")
    for job in GenerationJob.objects.filter(campaign=campaign, product__sku__in=["MUG-0", "MUG-1"]).order_by("-campaign_format"):
        GenerationJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED, output=done.output.name)
        job.refresh_from_db()
        decision_record(job=job, user=reviewer, decision="approved")
    path = tmp_path / "shopify.csv"
    call_command("export_shop", str(path), "--campaign", str(campaign.pk), "--base-url", "https://studio.example")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    images = [(r["Handle"], r["Image Position"], r["Image Alt Text"]) for r in rows if r["Image Src"]]
    # two products x two formats, square first then portrait, alt text from the campaign's template
    assert images == [("mug-0", "1", "Mug 0 · Square 1:1"), ("mug-0", "2", "Mug 0 · Portrait 4:5"),
                      ("mug-1", "1", "Mug 1 · Square 1:1"), ("mug-1", "2", "Mug 1 · Portrait 4:5")]
    assert all(r["Image Src"].startswith("https://studio.example/p/") for r in rows if r["Image Src"])
    client.force_login(reviewer)
    feed = client.get(f"/api/exports/merchant-center/?campaign={campaign.pk}").content.decode()
    lines = [line.split("\t") for line in feed.strip().splitlines()]
    assert lines[0] == ["id", "image_link", "additional_image_link"]
    by_id = {row[0]: row for row in lines[1:]}
    assert by_id["MUG-0"][1].endswith(".png") and by_id["MUG-0"][2].count("/p/") == 1  # square, then portrait
    assert "MUG-2" not in by_id or not by_id["MUG-2"][1]
    page = client.get(f"/catalog/shop/shopify-products.csv?campaign={campaign.pk}")
    assert page.status_code == 200 and page.content.decode().count("/p/") == 4


@pytest.mark.django_db
def test_the_campaign_list_costs_the_same_queries_for_one_campaign_or_four(client, merchandiser, mugs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(merchandiser)

    def counted(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def make(name):
        campaigns.campaign_create(name=name, mode="text2img", prompt_template="{name}", selection={"vendor": "Acme"},
                                  formats=["square"], user=merchandiser)

    make("One")
    one = counted("/api/campaigns/"), counted("/campaigns/")
    for name in ("Two", "Three", "Four"):
        make(name)
    assert (counted("/api/campaigns/"), counted("/campaigns/")) == one
    assert client.get("/api/campaigns/").json()["results"][0]["progress"]["total"] == 3
