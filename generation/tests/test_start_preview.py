"""The job form's preview of what the pipeline starts from, and the size that follows the photo's shape."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import login, shot
from generation.tests.test_fit import wide_photo


@pytest.fixture
def wide(product):
    from catalog.services import photo_add

    buffer = io.BytesIO()
    wide_photo().save(buffer, format="PNG")
    return photo_add(product=product, data=buffer.getvalue(), name="wide.png")[0]


def _preview(client, **query):
    return client.get("/jobs/preview.png", query)


@pytest.mark.django_db
def test_the_preview_is_what_the_pipeline_sees_for_each_fit(client, merchandiser, wide):
    client.force_login(merchandiser)
    seen = {}
    for fit in ("pad", "crop", "stretch"):
        response = _preview(client, mode="img2img", source_photo=wide.pk, width=512, height=512, fit=fit, strength=0.5)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response["X-Photo-Size"] == "600x400"
        seen[fit] = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
        assert seen[fit].shape == (320, 320, 3)  # at most 320 px on its longer side, the job's proportions
    # pad and stretch keep the red left edge of the photo; crop cuts it off
    assert seen["pad"][160, 3, 0] > 180 and seen["stretch"][160, 3, 0] > 180 and seen["crop"][160, 3, 0] < 180
    # pad: bands above and below the whole photo
    assert (seen["pad"][4, 160] == seen["pad"][315, 160]).all() and not (seen["pad"][4, 160] == seen["pad"][160, 160]).all()


@pytest.mark.django_db
def test_the_scene_preview_places_the_product_with_its_shadow(client, merchandiser, photo):
    client.force_login(merchandiser)
    common = dict(mode="scene", source_photo=photo.pk, width=512, height=384, product_scale=0.6, product_x=0.5,
                  product_y=0.55, edges="matte", shadow_opacity=0.8, shadow_softness=0.06, light=0)
    with_shadow = np.asarray(Image.open(io.BytesIO(_preview(client, **common, shadow="contact").content)).convert("L"))
    without = np.asarray(Image.open(io.BytesIO(_preview(client, **common, shadow="none").content)).convert("L"))
    assert with_shadow.shape == (240, 320)
    assert with_shadow.mean() < without.mean() - 0.5  # the contact shadow darkens the grey under the product


@pytest.mark.django_db
def test_a_wrong_preview_parameter_gets_its_sentence_and_a_400(client, merchandiser, wide):
    client.force_login(merchandiser)
    response = _preview(client, mode="img2img", source_photo=wide.pk, width=500, height=512, fit="pad", strength=0.5)
    assert response.status_code == 400 and "multiple of 8" in response.content.decode()
    response = _preview(client, mode="img2img", source_photo=wide.pk, width=512, height=512, fit="zoom", strength=0.5)
    assert response.status_code == 400 and "Photo fit must be one of pad, crop, stretch" in response.content.decode()
    assert _preview(client, mode="text2img", source_photo=wide.pk).status_code == 400
    assert _preview(client, mode="img2img").status_code == 400
    assert _preview(client, mode="img2img", source_photo=99999, width=512, height=512).status_code == 404
    client.logout()
    assert _preview(client, mode="img2img", source_photo=wide.pk).status_code == 302  # to the login page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_form_previews_the_photo_on_the_canvas_and_follows_its_shape(page, live_server, merchandiser, wide):
    login(page, live_server, "merch")
    page.goto(f"{live_server.url}/jobs/new/?product={wide.product.sku}&mode=img2img&source_photo={wide.pk}")
    page.wait_for_selector("#start-preview:not([hidden])")
    assert "512x512 px from a 600x400 px photo" in page.inner_text("#start-preview-note")
    first = page.eval_on_selector("#start-preview", "img => img.src")
    page.select_option("#id_fit", "crop")
    page.wait_for_function(f"() => document.querySelector('#start-preview').src !== {first!r}")
    page.click("#match-photo")
    # the longer side stays 512; the other follows 600x400, a multiple of 8
    assert page.input_value("#id_width") == "512" and page.input_value("#id_height") == "344"
    page.wait_for_function("() => document.querySelector('#start-preview-note').textContent.startsWith('512x344')")
    assert page.eval_on_selector("#start-preview", "img => [img.naturalWidth, img.naturalHeight]") == [320, 215]
    shot(page, "job-form-preview")
    # text2img starts from noise: no preview
    page.check("input[name=mode][value=text2img]")
    assert page.eval_on_selector("#start-preview-field", "row => row.hidden")
