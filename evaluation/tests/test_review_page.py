"""The review page a person can judge from: the output at its size, its source and difference a click away, a 2x loupe
on the same spot of both, the prompt above the rubric, the decision in reach at 1280x800 and on a phone."""
from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from conftest import finished_job, login, shot
from generation import pngmeta

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def img2img_output(photo, **changes):
    """A finished 512x512 img2img job whose output is the photo's centre crop with a coloured band drawn over it."""
    from generation import scene
    from generation.models import GenerationJob
    from sdstudio.images import open_image

    job = finished_job(mode="img2img", source_photo=photo, product=photo.product, strength=0.6, width=512, height=512,
                       prompt="sleek black wireless headphones on a marble counter", negative_prompt="blurry, text", **changes)
    pixels = np.asarray(scene.prepare_source(open_image(photo.image), 512, 512)).copy()
    pixels[200:260, :, :] = (250, 40, 40)  # what the "model" changed: a red band across the middle
    name = default_storage.save(f"outputs/test/job{job.pk}-512.png",
                                ContentFile(pngmeta.encode_png(Image.fromarray(pixels), job.parameters())))
    GenerationJob.objects.filter(pk=job.pk).update(output=name)
    return job


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] and box["x"] >= 0 \
        and box["x"] + box["width"] <= viewport["width"]


def test_at_1280x800_output_prompt_rubric_and_approve_are_in_the_first_view_and_the_loupe_matches_spots(
        page, live_server, reviewer, photo):
    job = img2img_output(photo)
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, "reviewer")
    page.goto(live_server.url + job.get_absolute_url())
    # the output at its own size (512 px), the prompt, the first criterion and Approve all without scrolling
    assert page.locator("#output-image").evaluate("img => img.getBoundingClientRect().width") >= 480
    assert page.locator("#output-image").bounding_box()["y"] < 400  # it starts in the first view
    for selector in ("#review-prompt", "#rubric-form .field-prompt_adherence", "#approve-button"):
        assert in_viewport(page, selector), selector
    assert page.inner_text("#review-prompt-text") == "sleek black wireless headphones on a marble counter"
    assert page.inner_text("#review-negative-prompt") == "blurry, text"
    shot(page, "review-page-1280x800")
    # the source as the model saw it, and the difference, over the output at the same size
    page.click("#view-source")
    assert page.locator("#reference-image").is_visible() and not page.locator("#difference-image").is_visible()
    page.click("#view-difference")
    assert page.locator("#difference-image").is_visible()
    page.click("#view-output")
    # the loupe: the same spot of the output and of the source, 2x
    page.check("#loupe-toggle")
    box = page.locator("#output-image").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 230 / 512)  # on the red band
    page.wait_for_function("() => document.getElementById('loupe').dataset.spot")
    x, y = map(int, page.locator("#loupe").get_attribute("data-spot").split(","))
    assert abs(x - 256) <= 2 and abs(y - 230) <= 2
    centre = page.evaluate("""() => ['loupe-output', 'loupe-source'].map(id => {
        const c = document.getElementById(id); return Array.from(c.getContext('2d').getImageData(96, 96, 1, 1).data); })""")
    expected = page.evaluate("""([x, y]) => ['output-image', 'reference-image'].map(id => {
        const img = document.getElementById(id), c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        return Array.from(ctx.getImageData(x, y, 1, 1).data); })""", [x, y])
    assert centre == expected
    assert centre[0][:3] == [250, 40, 40] and centre[1][:3] != [250, 40, 40]  # the output's band, the photo under it
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    shot(page, "review-page-loupe")


def test_at_390x844_the_decision_is_on_screen_without_scrolling_past_the_image(page, live_server, reviewer, photo):
    job = img2img_output(photo)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "reviewer")
    page.goto(live_server.url + job.get_absolute_url())
    assert page.evaluate("window.scrollY") == 0
    assert in_viewport(page, "#approve-button") and in_viewport(page, "#reject-button")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "review-page-390")
    # and it stays there while the reviewer scrolls through the rubric
    page.locator("#rubric-form .field-reproducibility").scroll_into_view_if_needed()
    assert in_viewport(page, "#approve-button")


def test_a_scene_shows_the_outline_of_what_was_kept(client, reviewer, photo):
    job = finished_job(mode="scene", source_photo=photo, product=photo.product, width=64, height=64,
                       product_scale=0.6, product_x=0.5, product_y=0.55, mask=photo.mask.name)
    client.force_login(reviewer)
    page = client.get(job.get_absolute_url()).content.decode()
    assert 'id="view-outline"' in page
    outline = Image.open(__import__("io").BytesIO(client.get(f"/jobs/{job.pk}/outline.png").content))
    alpha = np.asarray(outline.getchannel("A"))
    assert outline.size == (64, 64) and 0 < (alpha > 0).mean() < 0.5  # a ring, not the whole region
    assert client.get(f"/jobs/{job.pk}/nothing.png").status_code == 404
    text_job = finished_job()
    assert client.get(f"/jobs/{text_job.pk}/source.png").status_code == 404


def test_queue_cards_show_what_a_scene_kept_its_badge_and_the_prompt(client, reviewer, photo):
    scene = finished_job(mode="scene", source_photo=photo, product=photo.product, mask=photo.mask.name,
                         product_scale=0.6, product_x=0.5, product_y=0.55, product_max_pixel_diff=0, background_change=40.0,
                         prompt="black wireless headphones on a wooden table, morning light, shallow depth of field, "
                                "product photography for a catalog page")
    client.force_login(reviewer)
    page = client.get("/review/").content.decode()
    card = page.split(f'value="{scene.pk}"', 1)[1].split("</figure>", 1)[0]
    assert f'src="{scene.mask.url}"' in card and "product pixels identical" in card
    assert "black wireless headphones on a wooden table, morning light, shallow depth of field, product photography" in card
