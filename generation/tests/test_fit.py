"""No silent crop: img2img's photo fills the canvas as the job says (pad by default: the whole photo)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from generation import scene, selectors, services


def wide_photo() -> Image.Image:
    """600x400: a red band at the left edge, a blue one at the right, grey between."""
    pixels = np.full((400, 600, 3), 128, np.uint8)
    pixels[:, :50] = (220, 30, 30)
    pixels[:, -50:] = (30, 30, 220)
    return Image.fromarray(pixels)


@pytest.mark.parametrize("fit, keeps_the_edges", [("pad", True), ("crop", False), ("stretch", True)])
def test_the_fit_decides_what_of_a_wide_photo_the_pipeline_sees(fit, keeps_the_edges):
    seen = np.asarray(scene.prepare_source(wide_photo(), 256, 256, fit)).astype(int)
    left, right = seen[128, 4], seen[128, 251]
    assert (left[0] > 180 and left[2] < 80) == keeps_the_edges  # red still at the left edge
    assert (right[2] > 180 and right[0] < 80) == keeps_the_edges  # blue at the right
    if fit == "pad":  # the whole photo, 256x171, between bands above and below
        assert seen.shape == (256, 256, 3) and (seen[5, 128] == seen[250, 128]).all()
        assert not (seen[5, 4] == left).all()


def test_an_img2img_job_pads_by_default_and_records_it(db, product, merchandiser):
    from catalog.services import photo_add

    buffer = io.BytesIO()
    wide_photo().save(buffer, format="PNG")
    photo = photo_add(product=product, data=buffer.getvalue(), name="wide.png")[0]
    job = services.job_create(mode="img2img", prompt="a red and blue banner", seed=1, strength=0.5, width=256, height=256,
                              source_photo=photo, user=merchandiser)
    assert job.fit == "pad" and job.parameters()["fit"] == "pad"
    reference, _ = selectors.job_reference(job)  # what the pipeline starts from, as reviewers see it
    seen = np.asarray(reference).astype(int)
    assert seen[128, 4, 0] > 180 and seen[128, 251, 2] > 180
    cropped = services.job_create(mode="img2img", prompt="a banner", seed=1, strength=0.5, width=256, height=256,
                                  fit="crop", source_photo=photo, user=merchandiser)
    assert np.asarray(selectors.job_reference(cropped)[0])[128, 4, 0] < 180
    # a text2img job has no fit
    assert services.job_create(prompt="a banner", seed=1, width=256, height=256).fit == ""
