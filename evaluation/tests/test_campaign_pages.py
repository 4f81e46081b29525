"""Campaign pages: the recipe form, progress and controls, the product x format grid, the review queue by campaign."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from conftest import finished_job, login, shot
from generation import campaigns
from generation.models import Campaign, GenerationJob, Status

FORMATS = [{"name": "square", "width": 64, "height": 64}, {"name": "portrait", "label": "Portrait 4:5", "width": 64, "height": 80}]


def campaign_of(count: int, user, name: str = "Summer") -> Campaign:
    for i in range(count):
        Product.objects.get_or_create(sku=f"{name[:3].upper()}-{i:04d}", defaults={"name": f"Bottle {i}", "product_type": name})
    campaign = campaigns.campaign_create(name=name, mode="text2img", prompt_template="{name} on a wooden table",
                                         selection={"product_type": name}, formats=FORMATS, seeds_per_item=2, base_seed=5,
                                         parameters={"num_inference_steps": 2}, user=user)
    done = finished_job()  # a real output file the campaign's jobs can show
    jobs = GenerationJob.objects.filter(campaign=campaign)
    jobs.filter(seed=5).update(status=Status.SUCCEEDED, output=done.output.name, thumbnail=done.thumbnail.name)
    jobs.filter(seed=6, product__sku__endswith="0001").update(status=Status.FAILED, error="CUDA out of memory")
    return campaign


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


@pytest.mark.django_db
def test_campaign_pages_make_as_many_queries_for_100_products_as_for_10(client, merchandiser):
    client.force_login(merchandiser)
    small, big = campaign_of(10, merchandiser, "Small"), campaign_of(100, merchandiser, "Large")
    for page in ("", "grid/"):
        assert queries(client, f"/campaigns/{small.pk}/{page}") == queries(client, f"/campaigns/{big.pk}/{page}"), page
    assert queries(client, "/campaigns/") == queries(client, "/campaigns/")


@pytest.mark.django_db
def test_the_campaign_page_says_where_it_stands_and_lists_failures(client, merchandiser):
    client.force_login(merchandiser)
    campaign = campaign_of(3, merchandiser)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    # 3 products x 2 formats x 2 candidates = 12 jobs; the seed-5 ones succeeded (6), two failed
    assert "8 of 12 jobs finished (6 succeeded," in page and "2 failed" in page
    assert "0 of 6 product x format items approved" in page and "CUDA out of memory" in page
    assert 'id="campaign-pause"' in page and 'id="campaign-retry"' in page
    response = client.post(f"/campaigns/{campaign.pk}/retry/")
    assert response.status_code == 302
    assert GenerationJob.objects.filter(campaign=campaign, status=Status.FAILED).count() == 0
    client.post(f"/campaigns/{campaign.pk}/pause/")
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    assert 'id="campaign-resume"' in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert client.post(f"/campaigns/{campaign.pk}/explode/").status_code == 404


@pytest.mark.django_db
def test_the_new_campaign_form_creates_one_and_refuses_a_wrong_template(client, merchandiser, reviewer):
    Product.objects.create(sku="MUG-1", name="Blue mug", category="Kitchen")
    client.force_login(merchandiser)
    form = {"name": "Kitchen", "mode": "text2img", "prompt_template": "{name} on {surface}", "category": "Kitchen",
            "formats": ["square", "landscape"], "seeds_per_item": 1, "num_inference_steps": 20, "guidance_scale": 7.5,
            "alt_template": "{name}, {format}"}
    response = client.post("/campaigns/new/", form)
    assert response.status_code == 400 and "uses {surface}" in response.content.decode()
    response = client.post("/campaigns/new/", {**form, "prompt_template": "{name} on a kitchen counter"})
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Kitchen")
    assert sorted(campaign.jobs.values_list("campaign_format", "width", "height")) == [("landscape", 768, 432), ("square", 512, 512)]
    client.force_login(reviewer)
    assert client.get("/campaigns/new/").status_code == 403


@pytest.mark.django_db
def test_the_grid_approves_the_chosen_image_of_each_cell(client, merchandiser, reviewer):
    campaign = campaign_of(2, merchandiser)
    client.force_login(reviewer)
    page = client.get(f"/campaigns/{campaign.pk}/grid/").content.decode()
    assert "0 of 4 items have an approved image; 4 still missing" in page
    chosen = list(GenerationJob.objects.filter(campaign=campaign, status=Status.SUCCEEDED).values_list("pk", flat=True))
    assert len(chosen) == 4 and page.count('name="job"') == 4  # only finished images can be chosen
    response = client.post(f"/campaigns/{campaign.pk}/grid/", {"job": chosen[:3], "decision": "approved", "page": 1})
    assert response.status_code == 302
    assert GenerationJob.objects.filter(pk__in=chosen[:3], decision="approved").count() == 3
    page = client.get(f"/campaigns/{campaign.pk}/grid/").content.decode()
    assert "3 of 4 items have an approved image; 1 still missing" in page
    # the review queue filtered by campaign shows only its jobs
    other = finished_job()
    queue = client.get(f"/review/?campaign={campaign.pk}&decision=pending").content.decode()
    assert f"#{chosen[3]}" in queue and f"#{other.pk}" not in queue
    client.force_login(merchandiser)  # not a reviewer
    assert client.post(f"/campaigns/{campaign.pk}/grid/", {"job": chosen[3:], "decision": "approved"}).status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_campaign_pages_in_a_browser(page, live_server, merchandiser, reviewer):
    campaign = campaign_of(4, merchandiser)
    for width, suffix in ((1280, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 900})
        login(page, live_server, "merch")
        page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
        assert "16 jobs" in page.inner_text("#campaign-progress")
        shot(page, f"campaign{suffix}")
        page.goto(f"{live_server.url}/campaigns/{campaign.pk}/grid/")
        assert page.locator("#campaign-grid tbody tr").count() == 4
        shot(page, f"campaign-grid{suffix}")
        page.context.clear_cookies()
