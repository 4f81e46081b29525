"""Scene composites: the product's matte over the new scene (no halo, no old background), shadows, the repaint region,
a cut-out's own soft edge, the interior bit-exact with every choice."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image
from skimage import data

from bench import edgecheck
from conftest import ROOT
from generation import productshots, scene
from sdstudio import matting

COFFEE_MASK = ROOT / "bench" / "real_masks" / "coffee.png"  # a hand-drawn true mask of scikit-image's coffee photo


@pytest.fixture(scope="module")
def coffee():
    return Image.fromarray(data.coffee()), Image.open(COFFEE_MASK).convert("L")


def test_the_matte_is_soft_only_along_the_edge_and_follows_the_photo(coffee):
    photo, truth = coffee
    soft = np.asarray(matting.matte(photo, truth))
    hard = np.asarray(truth) >= 128
    band = (soft > 0) & (soft < 255)
    assert band.any()
    # nothing far from the edge changes: 255 deep inside, 0 far outside
    import cv2

    far_inside = cv2.erode(hard.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    far_outside = ~cv2.dilate(hard.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert (soft[far_inside] == 255).all() and (soft[far_outside] == 0).all()
    # deterministic: the same photo and mask give the same matte, byte for byte
    assert (np.asarray(matting.matte(photo, truth)) == soft).all()


@pytest.mark.parametrize("grey", [20, 235])
def test_no_halo_and_no_old_background_around_a_real_photos_product(coffee, grey):
    photo, truth = coffee
    before = edgecheck.composite_scores(photo, truth, truth, "feather")
    now = edgecheck.composite_scores(photo, truth, matting.matte(photo, truth), "matte")
    name = "dark" if grey == 20 else "light"
    # the first composite extended the product's edge colours outward: a halo of tens of grey levels on flat scenes
    assert abs(before[f"halo {name}"]) > 10
    assert abs(now[f"halo {name}"]) <= 3
    assert now[f"old {name}"] <= 0.05 < before["old light"]
    assert now["exact"] == 1.0 and before["exact"] == 1.0


def test_an_edge_the_photos_frame_cut_carries_no_old_background_and_a_real_edge_does():
    # a black box on a blue cloth, running off the photo's top: its top edge has no cloth beside it
    photo = np.zeros((200, 300, 3), np.uint8)
    photo[:] = (40, 60, 150)
    truth = np.zeros((200, 300), bool)
    truth[:120, 60:240] = True
    rng = np.random.default_rng(0)
    photo[truth] = np.clip(rng.normal(30, 12, (truth.sum(), 3)), 0, 255)  # a cloth-bound cover's grain
    image, mask = Image.fromarray(photo), Image.fromarray((truth * 255).astype(np.uint8))
    clean = edgecheck.composite_scores(image, mask, mask, "matte")
    assert clean["old dark"] <= 0.01 and clean["old light"] <= 0.01
    # the same box cut 4 px too wide on its left, right and bottom: cloth there, and it is seen
    wide = np.zeros_like(truth)
    wide[:124, 56:244] = True
    sloppy = edgecheck.composite_scores(image, mask, Image.fromarray((wide * 255).astype(np.uint8)), "matte")
    assert sloppy["old light"] >= 0.2


def _packshot():
    shot = productshots.render("bottle", "blue", "white", seed=1, size=256, caption=False)  # stands on a soft shadow
    return shot.image, shot.mask


@pytest.mark.parametrize("edges", ["matte", "feather"])
@pytest.mark.parametrize("shadow", ["contact", "keep", "none"])
def test_the_interior_is_exact_with_every_edge_and_shadow_choice(edges, shadow):
    photo, mask = _packshot()
    job_mask = matting.matte(photo, mask) if edges == "matte" else mask
    placed = scene.place(photo, job_mask, (256, 320), scale=0.6, x=0.4, y=0.6, edges=edges, shadow=shadow)
    generated = Image.effect_noise((256, 320), 60).convert("RGB")
    out = np.asarray(scene.composite(generated, placed))
    keep = np.asarray(placed.mask) == 255 if edges == "matte" else np.asarray(placed.mask) >= 128
    assert keep.sum() > 1000 and (out[keep] == np.asarray(placed.canvas)[keep]).all()
    assert scene.scene_fidelity(scene.composite(generated, placed), placed).product_max_pixel_diff == 0


def _darkening(placed, out, grey):
    left, top, right, bottom = placed.box
    rows, cols = slice(bottom, bottom + 4), slice(left + (right - left) // 4, right - (right - left) // 4)
    region = out.mean(axis=-1)[rows, cols][np.asarray(placed.mask)[rows, cols] == 0]
    return 1 - region.mean() / grey


def test_contact_and_kept_shadows_darken_the_scene_under_the_base_and_none_does_not():
    photo, mask = _packshot()
    job_mask = matting.matte(photo, mask)
    flat = Image.new("RGB", (256, 256), (235, 235, 235))
    darkening = {}
    for shadow in ("contact", "keep", "none"):
        placed = scene.place(photo, job_mask, (256, 256), scale=0.6, x=0.5, y=0.5, shadow=shadow)
        out = np.asarray(scene.composite(flat, placed), dtype=np.float64)
        darkening[shadow] = _darkening(placed, out, 235.0)
        far = out[5:20, 5:20]
        assert (far == 235).all(), shadow  # far from the product the scene is untouched
    assert darkening["contact"] >= 0.10 and darkening["keep"] >= 0.10 and darkening["none"] == 0.0, darkening


def test_the_light_moves_the_contact_shadow_to_the_other_side():
    photo, mask = _packshot()
    job_mask = matting.matte(photo, mask)
    sides = {}
    for light in (-1.0, 1.0):
        placed = scene.place(photo, job_mask, (256, 256), scale=0.5, x=0.5, y=0.5, shadow="contact", light=light)
        shade = 1 - placed.shadow
        columns = np.nonzero(shade.sum(axis=0) > 0.05 * shade.sum(axis=0).max())[0]
        sides[light] = columns.mean()
    # light from the left (-1) throws the shadow to the right of where light from the right throws it
    assert sides[-1.0] > sides[1.0] + 3


def test_the_unet_repaints_every_latent_cell_that_touches_the_products_edge():
    photo, mask = _packshot()
    placed = scene.place(photo, matting.matte(photo, mask), (256, 256), scale=0.6, x=0.5, y=0.5)
    repaint = np.asarray(scene.repaint_mask(placed)) == 255
    not_solid = np.asarray(placed.mask) < 255
    # a latent cell is 8x8 px: every cell holding any pixel that is not solid product is entirely repainted
    cells_touching = not_solid.reshape(32, 8, 32, 8).any(axis=(1, 3))
    cells_repainted = repaint.reshape(32, 8, 32, 8).all(axis=(1, 3))
    assert (cells_repainted | ~cells_touching).all()
    assert (~repaint).sum() > 0  # the product's interior is still given to the model


@pytest.mark.django_db
def test_a_cut_outs_soft_alpha_is_its_matte_and_composites_without_a_pale_rim(product):
    from catalog.services import photo_add
    from generation import services

    # a blue disc whose edge fades out over 8 px, cut out on transparency (stored flattened on white)
    size, radius = 160, 50
    yy, xx = np.mgrid[0:size, 0:size]
    alpha = np.clip((radius + 4 - np.hypot(xx - 80, yy - 80)) / 8, 0, 1)
    rgba = np.dstack([np.full((size, size), 30), np.full((size, size), 60), np.full((size, size), 200),
                      np.rint(alpha * 255)]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    photo, _ = photo_add(product=product, data=buffer.getvalue(), name="disc.png")
    assert photo.matte and (np.asarray(Image.open(photo.matte.open("rb"))) == rgba[..., 3]).all()
    job = services.job_create(mode="scene", prompt="on slate", source_photo=photo, width=128, height=128,
                              product_scale=0.85, num_inference_steps=2)
    kept = np.asarray(Image.open(job.mask.open("rb")))
    # the job's matte is the cut-out's own alpha, its whole 8 px soft edge (not flattened to the mask)
    assert ((rgba[..., 3] > 0) & (rgba[..., 3] < 255)).sum() > 1000 and (kept == rgba[..., 3]).all()
    # composited over a dark scene, the half-transparent edge mixes blue and the scene: no white from the flattening
    from sdstudio.images import open_image

    placed = scene.place(open_image(photo.image), Image.fromarray(kept), (128, 128), scale=0.85, x=0.5, y=0.5)
    out = np.asarray(scene.composite(Image.new("RGB", (128, 128), (10, 10, 10)), placed), dtype=np.float64)
    a = np.asarray(placed.mask, dtype=np.float64) / 255
    half = (a > 0.3) & (a < 0.7)
    assert half.sum() > 20
    expected = a[half][:, None] * np.array([30, 60, 200]) + (1 - a[half][:, None]) * 10
    assert np.abs(out[half] - expected).max() < 25
    assert out[half][:, 0].max() < 60  # a pale rim would be near-white in red


@pytest.mark.django_db
def test_photo_mask_writes_the_matte_beside_the_mask(tmp_path, coffee):
    photo, _ = coffee
    path = tmp_path / "coffee.png"
    photo.save(path)
    out, matte_path = tmp_path / "mask.png", tmp_path / "matte.png"
    stdout = io.StringIO()
    call_command("photo_mask", str(path), "--box", "40,20,560,380", "--out", str(out), "--matte", str(matte_path),
                 stdout=stdout)
    assert f"wrote {matte_path}: its matte" in stdout.getvalue()
    soft, hard = np.asarray(Image.open(matte_path)), np.asarray(Image.open(out))
    assert soft.shape == hard.shape and ((soft > 0) & (soft < 255)).any()
    assert set(np.unique(hard)) <= {0, 255}



def test_the_png_parameters_text_names_the_edges_and_the_shadow():
    from generation import modes
    from generation import parameters as P

    values, errors = modes.coerce({"mode": "scene", "prompt": "a mug on slate", "seed": 3, "shadow": "keep"})
    assert not errors
    text = P.parameters_text(values)
    assert "Product edges: matte" in text and "Shadow: keep" in text and "Shadow opacity: 0.5" in text and "Light: 0.0" in text
    text = P.parameters_text(modes.coerce({"mode": "text2img", "prompt": "a mug", "seed": 3})[0])
    assert "Shadow" not in text and "Product edges" not in text
