"""What a scene kept, said and gated: its share of the photo, its pieces and enlargement on the job, warnings a
reviewer must confirm before approving, and an enlargement past 4x refused with a sentence."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from api.tests.test_api import client_for
from conftest import finished_job
from generation import services
from generation.models import GenerationJob

SCENE = dict(mode="scene", prompt="headphones on a marble table", seed=1, num_inference_steps=2, width=256, height=256)


def square_mask(size: int, side: int) -> Image.Image:
    """A mask keeping a ``side`` px square in the middle of a ``size`` px photo."""
    mask = Image.new("L", (size, size), 0)
    start = (size - side) // 2
    mask.paste(255, (start, start, start + side, start + side))
    return mask


@pytest.fixture
def succeeded(db):
    """A job made through the service, then marked finished the way the worker leaves it."""
    def make(**params) -> GenerationJob:
        job = services.job_create(**params)
        done = finished_job()
        GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", output=done.output, product_max_pixel_diff=0,
                                                         background_change=30.0)
        job.refresh_from_db()
        return job
    return make


def test_a_scene_records_what_it_kept_and_a_sound_one_approves_without_a_question(succeeded, photo, reviewer):
    from evaluation.services import decision_record

    job = succeeded(**SCENE, source_photo=photo, product_scale=0.6, mask=square_mask(768, 300))
    # 300 px of 768 kept: 15.3% of the photo, one piece, its 300 px shown as 0.6 x 256 = 154 px
    assert (job.kept_share, job.kept_pieces, job.enlargement) == (pytest.approx(0.1526, abs=1e-4), 1, pytest.approx(0.51))
    # the matte's soft band: 5 px each side of the edge on a 768 px photo (0.6%), both sides shown at 0.51x
    assert job.kept_summary == ("15% of the photo, 1 piece, shown at 0.5x its size on the photo; edges blended over 5 px; "
                                "a contact shadow") and job.kept_warnings == []
    decision_record(job=job, user=reviewer, decision="approved")
    assert GenerationJob.objects.get(pk=job.pk).decision == "approved"


def test_more_than_four_times_the_products_size_is_refused_with_a_sentence(db, photo, merchandiser):
    # a 40 px product shown at 0.8 x 256 = 205 px: 5.1 times
    with pytest.raises(ValidationError) as refused:
        services.job_create(**SCENE, source_photo=photo, product_scale=0.8, mask=square_mask(768, 40), user=merchandiser)
    assert "shown 5.1 times its size on the photo (at most 4)" in refused.value.message_dict["product_scale"][0]
    assert not GenerationJob.objects.exists()
    # the API says the same, as a 400 on the field
    api, _ = client_for(merchandiser)
    answer = api.post("/api/jobs/", {**SCENE, "source_photo": photo.pk, "product_scale": 1.0}, format="json")
    assert answer.status_code == 201  # the photo's own mask (the headphones, about 60% of it): 0.6x at most
    small = api.post("/api/jobs/", {**SCENE, "source_photo": photo.pk, "product_scale": 0.8,
                                    "mask": _png(square_mask(768, 40))}, format="multipart")
    assert small.status_code == 400 and "at most 4" in small.json()["product_scale"][0]


def _png(image: Image.Image):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("mask.png", buffer.getvalue(), content_type="image/png")


def test_a_fragment_enlarged_past_twice_its_size_is_approved_only_when_the_reviewer_confirms(succeeded, photo, reviewer, client):
    from evaluation.services import decision_record

    # a 60 px square of the photo (0.6% of it) shown at 0.6 x 256 = 154 px: 2.6 times
    job = succeeded(**SCENE, source_photo=photo, product_scale=0.6, mask=square_mask(768, 60))
    assert job.enlargement == pytest.approx(2.56) and len(job.kept_warnings) == 2
    assert "keeps only 0.6% of the photo" in job.kept_warnings[0] and "shown 2.6 times its size" in job.kept_warnings[1]
    with pytest.raises(ValidationError, match="I checked what the scene kept"):
        decision_record(job=job, user=reviewer, decision="approved")
    # the page shows the warnings and the box to tick; approving without it is refused, with it accepted
    client.force_login(reviewer)
    page = client.get(job.get_absolute_url()).content.decode()
    assert 'id="kept-warnings"' in page and 'id="id_confirm"' in page
    client.post(reverse("evaluation:decide", args=[job.pk]), {"decision": "approved"})
    assert GenerationJob.objects.get(pk=job.pk).decision == ""
    client.post(reverse("evaluation:decide", args=[job.pk]), {"decision": "approved", "confirm": "on"})
    assert GenerationJob.objects.get(pk=job.pk).decision == "approved"
    # a rejection needs no confirmation
    other = succeeded(**{**SCENE, "seed": 2}, source_photo=photo, product_scale=0.6, mask=square_mask(768, 60))
    decision_record(job=other, user=reviewer, decision="rejected", reason="the product is a blurred fragment")


def test_an_unsure_automatic_mask_is_carried_to_the_job_and_to_its_full_image(succeeded, product, merchandiser):
    from catalog.services import photo_add
    from catalog.tests.test_mask_hints import coins_png

    coins = photo_add(product=product, data=coins_png(), name="coins.png")[0]
    assert coins.mask_unsure
    draft = succeeded(**SCENE, source_photo=coins, speed="draft", product_scale=0.3)
    assert draft.mask_unsure and "flagged unsure" in draft.kept_warnings[0]
    full = services.job_make_full(job=draft, user=merchandiser)
    assert full.mask_unsure
    # a person's own mask is not unsure
    drawn = services.job_create(**SCENE, source_photo=coins, product_scale=0.3, mask=square_mask(600, 100).resize((600, 400)))
    assert not drawn.mask_unsure


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_sees_what_a_scene_kept_and_confirms_before_approving(page, live_server, photo, reviewer):
    from conftest import login, shot

    job = services.job_create(**SCENE, source_photo=photo, product_scale=0.6, mask=square_mask(768, 60))
    done = finished_job()
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", output=done.output, thumbnail=done.thumbnail,
                                                     product_max_pixel_diff=0, background_change=30.0,
                                                     finished_at=done.finished_at)
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/review/")
    assert "check the kept region" in page.inner_text("main")
    shot(page, "review-queue-kept-warning")
    for width, name in ((1280, "scene-kept-warnings"), (390, "phone-scene-kept-warnings")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}{job.get_absolute_url()}")
        assert "keeps only 0.6% of the photo" in page.inner_text("#kept-warnings")
        assert page.is_visible("#id_confirm")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 10
        shot(page, name)
    page.click("#approve-button")
    page.wait_for_load_state()
    assert GenerationJob.objects.get(pk=job.pk).decision == ""  # not confirmed: refused, with the sentence shown
    assert "I checked what the scene kept" in page.inner_text("main")
    page.check("#id_confirm")
    page.click("#approve-button")
    page.wait_for_load_state()
    assert GenerationJob.objects.get(pk=job.pk).decision == "approved"
