"""Campaigns: one recipe for many products and formats, people's jobs first, campaigns in turn, pause/resume/cancel,
nothing lost when a worker dies."""
from __future__ import annotations

import os
import signal
import time

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Product
from conftest import png_bytes, run_worker_burst
from generation import campaigns, services
from generation.models import GenerationJob, Status
from generation.tests.test_reliability import start_held_worker, wait_for_hold

TINY = {"num_inference_steps": 1, "guidance_scale": 7.5, "scheduler": "euler_a"}
SMALL = [{"name": "square", "width": 64, "height": 64}, {"name": "wide", "width": 96, "height": 64}]


def products(count: int, *, photos: bool = False, **fields) -> list[Product]:
    from catalog.services import photo_add

    made = []
    for i in range(count):
        product = Product.objects.create(sku=f"C-{i:04d}", name=f"Mug {i}", vendor="Acme", product_type="Mug", **fields)
        if photos:
            photo_add(product=product, data=png_bytes((96, 96), (20 + i, 60, 200)), name=f"{i}.png")
        made.append(product)
    return made


def make(name: str, count: int, **changes):
    options = dict(mode="text2img", prompt_template="{name} by {vendor}, a {type}", selection={"product_type": "mug"},
                   formats=SMALL, parameters=TINY, seeds_per_item=1, base_seed=100)
    options.update(changes)
    return campaigns.campaign_create(name=name, **options)


def waiting_in_redis(redis_conn, model_id: str = "") -> int:
    return redis_conn.llen(f"rq:queue:{services.campaign_queue_name(model_id)}")


@pytest.mark.django_db
def test_a_campaign_makes_every_job_of_its_recipe_at_once(django_capture_on_commit_callbacks, merchandiser):
    products(3)
    Product.objects.create(sku="OTHER", name="Lamp", product_type="Lamp")  # not selected
    with django_capture_on_commit_callbacks():
        campaign = make("Summer", 3, seeds_per_item=2, user=merchandiser)
    jobs = GenerationJob.objects.filter(campaign=campaign).order_by("product__sku", "campaign_format", "seed")
    # 3 products x 2 formats x 2 candidates, each with its product's prompt, its format's size and seeds 100, 101
    assert jobs.count() == 12 and {j.product.sku for j in jobs} == {"C-0000", "C-0001", "C-0002"}
    first = jobs[0]
    assert first.prompt == "Mug 0 by Acme, a Mug" and first.status == Status.QUEUED and first.created_by == merchandiser
    assert {(j.campaign_format, j.width, j.height) for j in jobs} == {("square", 64, 64), ("wide", 96, 64)}
    assert sorted({j.seed for j in jobs}) == [100, 101] and {j.num_inference_steps for j in jobs} == {1}
    assert campaigns.progress(campaign)["total"] == 12 and campaigns.progress(campaign)["items"] == 6


@pytest.mark.django_db
def test_a_wrong_recipe_is_refused_with_a_sentence_and_nothing_is_made(merchandiser):
    products(2)
    cases = [
        (dict(prompt_template="{name} on {colour}"), "uses {colour}"),
        (dict(formats=[{"name": "odd", "width": 500, "height": 512}]), "multiple of 8"),
        (dict(formats=["poster"]), "Unknown format “poster”"),
        (dict(selection={}), "Choose the products"),
        (dict(selection={"category": "nothing"}), "matches no product"),
        (dict(parameters={"guidance_scale": 99}), "square: Guidance"),
        (dict(mode="scene"), "None of the selected products can take part"),  # scenes need a photo; these have none
        (dict(seeds_per_item=9), "between 1 and 8"),
    ]
    for changes, sentence in cases:
        with pytest.raises(ValidationError) as raised:
            make("Bad", 2, user=merchandiser, **changes)
        assert sentence in " ".join(raised.value.messages), (changes, raised.value.messages)
    assert not GenerationJob.objects.exists()
    make("Good", 2, user=merchandiser)
    with pytest.raises(ValidationError, match="already called “Good”"):
        make("Good", 2, user=merchandiser)


@pytest.mark.django_db(transaction=True)
def test_only_a_window_of_each_campaign_waits_in_redis_and_pause_resume_cancel_take_it_back(redis_conn, merchandiser):
    products(5)
    campaign = make("Window", 5, user=merchandiser)  # 10 jobs
    window = campaigns.window()
    assert window == 2 and waiting_in_redis(redis_conn) == window
    assert GenerationJob.objects.filter(campaign=campaign).exclude(rq_job_id="").count() == window
    # the reconciler leaves the others in the database (they are fed in turn, not all at once)
    services.jobs_reconcile(grace_seconds=0)
    assert waiting_in_redis(redis_conn) == window and campaigns.feed(campaign.pk) == 0
    # pause: what waited in Redis is taken back; nothing more is fed
    campaigns.campaign_pause(campaign=campaign, user=merchandiser)
    assert waiting_in_redis(redis_conn) == 0 and not GenerationJob.objects.filter(campaign=campaign).exclude(rq_job_id="").exists()
    assert campaigns.feed_all() == 0
    with pytest.raises(ValidationError, match="only an active campaign can be paused"):
        campaigns.campaign_pause(campaign=campaign, user=merchandiser)
    # resume: fed again
    campaigns.campaign_resume(campaign=campaign, user=merchandiser)
    assert waiting_in_redis(redis_conn) == window
    # cancel: every job not finished is canceled, Redis emptied
    assert campaigns.campaign_cancel(campaign=campaign, user=merchandiser) == {"canceled": 10, "stopping": 0}
    assert waiting_in_redis(redis_conn) == 0
    assert set(GenerationJob.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Status.CANCELED}
    # a colleague may not stop someone else's campaign
    from conftest import make_user
    from django.core.exceptions import PermissionDenied

    other = make("Other", 5, user=merchandiser)
    with pytest.raises(PermissionDenied):
        campaigns.campaign_pause(campaign=other, user=make_user("merch2", "Merchandisers"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_persons_job_behind_fifty_campaign_jobs_starts_next(redis_conn, merchandiser):
    products(25)
    campaign = make("Fifty", 25, user=merchandiser)  # 25 products x 2 formats
    assert GenerationJob.objects.filter(campaign=campaign, status=Status.QUEUED).count() == 50
    mine = services.job_create(prompt="a red mug", seed=1, width=64, height=64, num_inference_steps=1, user=merchandiser)
    log = run_worker_burst(timeout=600)
    mine.refresh_from_db()
    assert mine.status == Status.SUCCEEDED, log
    started = list(GenerationJob.objects.filter(campaign=campaign).values_list("started_at", flat=True))
    assert len(started) == 50 and all(started) and mine.started_at < min(started)
    assert set(GenerationJob.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Status.SUCCEEDED}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_campaigns_take_turns(redis_conn, merchandiser):
    products(6)
    big = make("Big", 6, user=merchandiser)  # 12 jobs, made first
    small = make("Small", 6, selection={"skus": ["C-0000", "C-0001"]}, user=merchandiser)  # 4 jobs, made after
    run_worker_burst(timeout=600)
    order = list(GenerationJob.objects.filter(campaign__isnull=False).order_by("started_at").values_list("campaign_id", flat=True))
    assert len(order) == 16 and set(GenerationJob.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    # the small campaign does not wait for the big one: all of it is done within the first 9 jobs (in turns of the window)
    last_small = max(i for i, c in enumerate(order) if c == small.pk)
    assert last_small <= 8, order
    assert order[:2] == [big.pk, big.pk] and small.pk in order[2:5], order


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_campaign_loses_no_job(redis_conn, merchandiser, tmp_path):
    products(4)
    campaign = make("Killed", 4, parameters={**TINY, "num_inference_steps": 4}, user=merchandiser)  # 8 jobs
    jobs = list(GenerationJob.objects.filter(campaign=campaign).order_by("id"))
    held = jobs[2]  # the third job: held at its step 2, then the worker is SIGKILLed
    worker = start_held_worker(tmp_path, held, 2)
    try:
        wait_for_hold(tmp_path, worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert GenerationJob.objects.get(pk=held.pk).status == Status.RUNNING
    time.sleep(1.5)
    # a new worker: its reconcile retries the stale job, and feeding picks up where the dead worker left off
    log = run_worker_burst(timeout=600, SDSTUDIO_HEARTBEAT_STALE_SECONDS="1")
    statuses = list(GenerationJob.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert len(statuses) == 8 and set(statuses) == {Status.SUCCEEDED}, log
    assert GenerationJob.objects.get(pk=held.pk).attempts == 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scene_campaign_freezes_each_jobs_mask_when_it_runs(redis_conn, merchandiser):
    products(2, photos=True)
    from catalog.models import ProductPhoto
    from PIL import Image, ImageDraw
    import io

    # the photos are flat colours: give each a drawn mask (a square product)
    from catalog.services import photo_set_mask

    for photo in ProductPhoto.objects.all():
        mask = Image.new("L", (96, 96), 0)
        ImageDraw.Draw(mask).rectangle((30, 30, 65, 65), fill=255)
        buffer = io.BytesIO()
        mask.save(buffer, format="PNG")
        photo_set_mask(photo=photo, data=buffer.getvalue())
    campaign = make("Scenes", 2, mode="scene", prompt_template="{name} on a wooden table",
                    formats=[{"name": "small", "width": 64, "height": 64}, "square"], parameters={**TINY})
    assert not GenerationJob.objects.filter(campaign=campaign).exclude(mask="").exists()  # made at once, no mask yet
    run_worker_burst(timeout=600)
    small = list(GenerationJob.objects.filter(campaign=campaign, campaign_format="small"))
    assert len(small) == 2 and all(j.status == Status.SUCCEEDED for j in small), [j.error for j in small]
    assert all(j.mask and j.product_max_pixel_diff == 0 and j.kept_share > 0 for j in small)
    # the square format would show a 36 px product at 307 px: refused when it runs, with why, listed as failed
    square = list(GenerationJob.objects.filter(campaign=campaign, campaign_format="square"))
    assert {j.status for j in square} == {Status.FAILED}
    assert all("8.5 times its size on the photo (at most 4)" in j.error for j in square)
    assert campaigns.progress(campaign)["by_status"]["failed"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_job_taken_just_before_its_campaign_paused_or_canceled_is_given_back_not_run(redis_conn, merchandiser):
    from generation.execution import job_execute
    from generation.models import Campaign

    products(2)
    campaign = make("Race", 2, user=merchandiser)
    first, second = GenerationJob.objects.filter(campaign=campaign).exclude(rq_job_id="").order_by("id")[:2]
    # a worker dequeued both just before the pause and the cancel reached the rows
    Campaign.objects.filter(pk=campaign.pk).update(status="paused")
    assert job_execute(job_id=first.pk) == []
    first.refresh_from_db()
    assert (first.status, first.rq_job_id, first.attempts, first.started_at) == (Status.QUEUED, "", 0, None)
    Campaign.objects.filter(pk=campaign.pk).update(status="canceled")
    assert job_execute(job_id=second.pk) == []
    second.refresh_from_db()
    assert second.status == Status.CANCELED and second.error == "The campaign was canceled." and not second.output
