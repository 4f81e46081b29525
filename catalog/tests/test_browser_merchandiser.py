"""A merchandiser's day in a real browser: product, photo, img2img job, live progress, output beside its source."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from catalog.demo_data import DEMO_PHOTO
from catalog.models import Product
from conftest import login, shot
from generation.models import GenerationJob

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_merchandiser_creates_product_uploads_photo_and_restyles_it(page, live_server, merchandiser, live_worker):
    # given a merchandiser logged in
    login(page, live_server, "merch")
    # when they create a product
    page.click("text=Catalog")
    page.click("#new-product")
    page.fill("#id_sku", "HP-100")
    page.fill("#id_name", "Wireless headphones")
    page.fill("#id_category", "Audio")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{live_server.url}/catalog/HP-100/")
    assert Product.objects.filter(sku="HP-100").exists()
    # and upload a photo
    page.set_input_files("#photo-upload input[type=file]", str(DEMO_PHOTO))
    page.click("#photo-upload button[type=submit]")
    page.wait_for_selector("#photos img")
    assert "Photo added (768x768 px)" in page.inner_text(".messages")
    shot(page, "merchandiser-1-product")
    # and start an img2img job from the product's photo
    page.click("#new-job")
    page.check("input[name=mode][value=img2img]")
    page.fill("#id_prompt", "the same headphones on white marble, studio light")
    page.select_option("#id_source_photo", index=1)
    page.fill("#id_strength", "0.75")
    page.fill("#id_num_inference_steps", "40")
    page.fill("#id_seed", "7")
    shot(page, "merchandiser-2-form")
    page.click("button:has-text('Queue')")
    page.wait_for_selector("#progress")
    job = GenerationJob.objects.get()
    assert job.mode == "img2img" and job.strength == 0.75 and job.seed == 7
    # then the progress bar moves without reloading
    seen, texts, text = set(), set(), ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            value = page.eval_on_selector("#progress-bar", "el => el.value")
            text = page.inner_text("#progress-text")
            if 0 < value < 1:
                seen.add(round(value, 3))
                texts.add(text)
                if len(seen) == 2:
                    shot(page, "merchandiser-3-progress")
            if page.query_selector("#output-image"):
                break
        except PlaywrightError:  # the page reloads itself once the job ends, at any of these calls
            page.wait_for_load_state()
            continue
        time.sleep(0.15)
    # (0 -> at least one step in between, shown as "step i of N" -> done) without a reload of the page
    # the bar moved while the job ran: two different readings between 0 and 1 (the page prints one value on load)
    assert len(seen) >= 2, f"progress did not move between 0 and 1 (readings {sorted(seen)}, last text {text!r})"
    assert any(t.startswith("step ") and " of " in t for t in texts), texts
    # and the output shows next to its source, with its configuration
    page.wait_for_selector("#output-image")
    assert page.is_visible("#source-image")
    assert "Strength" in page.inner_text("#configuration") and "0.75" in page.inner_text("#configuration")
    job.refresh_from_db()
    assert job.status == "succeeded"
    shot(page, "merchandiser-4-output")


def test_phone_width_layout_keeps_the_job_page_usable(page, live_server, merchandiser):
    from conftest import finished_job

    job = finished_job(created_by=merchandiser)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "merch")
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways at phone width ({width}px)"
    shot(page, "phone-job-page")


def test_merchandiser_paints_the_mask_and_gets_a_scene_that_keeps_the_product(page, live_server, merchandiser, photo, live_worker):
    import numpy as np
    from PIL import Image

    # given a merchandiser on the photo page, its automatic mask loaded in the editor
    login(page, live_server, "merch")
    page.goto(f"{live_server.url}/catalog/{photo.product.sku}/")
    page.click("#photos a")
    page.wait_for_selector("#mask-editor[data-loaded='1']")
    assert "found automatically" in page.inner_text("#mask-summary")
    before = np.asarray(Image.open(photo.mask.open("rb"))) > 0
    # when they paint a stroke on the background (photo pixels 80..180 on row 700 of 768) and save
    box = page.locator("#mask-canvas").bounding_box()
    scale = box["width"] / photo.width
    page.mouse.move(box["x"] + 80 * scale, box["y"] + 700 * scale)
    page.mouse.down()
    for x in range(80, 181, 20):
        page.mouse.move(box["x"] + x * scale, box["y"] + 700 * scale)
    page.mouse.up()
    shot(page, "mask-editor")
    page.click("#mask-save")
    page.wait_for_function("() => document.getElementById('mask-status').textContent.startsWith('Saved')")
    # then the stroke is in the photo's mask, the rest of the mask unchanged
    photo.refresh_from_db()
    after = np.asarray(Image.open(photo.mask.open("rb"))) > 0
    assert photo.mask_source == "drawn" and "drawn by hand" in page.inner_text("#mask-source")
    assert after[700, 80:181].all() and not before[700, 80:181].any()
    assert (after[:600] == before[:600]).all()
    # and a scene job started from the photo keeps the product's pixels
    page.click("#new-scene-job")
    page.wait_for_load_state()
    page.wait_for_selector("#id_strength", state="hidden")  # strength is img2img's: the form hides it for a scene
    assert page.is_checked("input[name=mode][value=scene]") and page.is_visible("#id_product_scale")
    page.fill("#id_prompt", "product shot of black headphones on a wooden table")
    page.fill("#id_width", "256")
    page.fill("#id_height", "256")
    page.fill("#id_num_inference_steps", "8")
    page.click("button:has-text('Queue')")
    page.wait_for_selector("#scene-fidelity", timeout=180_000)
    assert "product pixels identical inside the mask" in page.inner_text("#scene-fidelity")
    assert page.is_visible("#mask-image") and page.is_visible("#output-image")
    job = GenerationJob.objects.get()
    assert job.mode == "scene" and job.status == "succeeded" and job.product_max_pixel_diff == 0
    shot(page, "scene-job")


def test_choosing_a_product_by_search_fills_its_photos(page, live_server, merchandiser, photo):
    login(page, live_server, "merch")
    page.goto(f"{live_server.url}/jobs/new/")
    page.check("input[name=mode][value=img2img]")
    assert page.locator("#id_source_photo option").count() <= 1  # no product yet: no photo to pick
    page.fill("#id_product", "Black head")  # a part of the name
    page.wait_for_function("() => document.querySelectorAll('#product-options option').length === 1")
    assert page.eval_on_selector("#product-options option", "o => o.value") == photo.product.sku
    page.fill("#id_product", photo.product.sku)
    page.dispatch_event("#id_product", "change")
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('#id_source_photo option')).some(o => o.value === '{photo.pk}')")
    assert page.eval_on_selector("#id_source_photo", "s => s.value") == str(photo.pk)  # the only photo, chosen


def test_the_prompt_says_which_words_the_embedded_model_does_not_know(page, live_server, merchandiser):
    login(page, live_server, "merch")
    for width, suffix in ((1280, ""), (390, "-phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/jobs/new/")
        page.fill("#id_prompt", "red water bottle on a granite shelf by the sea, studio lighting")
        page.wait_for_function("() => document.getElementById('token-count-prompt').textContent.includes('not known')")
        counter = page.inner_text("#token-count-prompt")
        assert counter.endswith("not known to the embedded model: granite, by, sea"), counter
        page.click("#model-words summary")
        assert "wooden table" in page.inner_text("#model-words")
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
        page.locator("#model-words").scroll_into_view_if_needed()
        shot(page, f"job-form-model-words{suffix}")
