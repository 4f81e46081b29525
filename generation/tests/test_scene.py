"""Scene mode: the product's pixels kept through a mask, the scene generated around it; masks; edge guidance."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from PIL import Image, ImageDraw

from catalog import masks
from catalog.demo_data import DEMO_PHOTO
from conftest import png_bytes
from generation import modelinfo, productshots, scene
from generation.models import GenerationJob

COMPOSITE_URI = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


def _gradient(size: int, top: tuple, bottom: tuple) -> Image.Image:
    t = np.linspace(0.0, 1.0, size)[:, None, None]
    rows = np.array(top, dtype=np.float64) * (1 - t) + np.array(bottom, dtype=np.float64) * t
    return Image.fromarray(np.broadcast_to(rows, (size, size, 3)).astype(np.uint8), "RGB")


def _packshots() -> list[tuple[str, Image.Image, Image.Image]]:
    """24 rendered packshots with their true masks: 6 kinds x (plain, strong gradient, wood, marble), colours varied."""
    shots = []
    colours = list(productshots.COLOURS)
    for k, kind in enumerate(productshots.KINDS):
        for b, background in enumerate(("plain", "gradient", "wood", "marble")):
            colour = colours[(k * 4 + b) % len(colours)]
            surface = {"plain": ("white", "gray", "black", "blue")[k % 4], "gradient": "white"}.get(background, background)
            if (colour, surface) in {("white", "white"), ("white", "marble"), ("black", "black"), ("blue", "blue")}:
                colour = "orange"  # no product is shot on its own colour
            shot = productshots.render(kind, colour, surface, seed=100 + k * 4 + b, size=256, caption=False)
            image = shot.image
            if background == "gradient":  # the product on a strong studio sweep (dark top to light bottom)
                image = _gradient(256, (70, 80, 110), (235, 230, 220))
                image.paste(shot.image, (0, 0), shot.mask)
            shots.append((f"{colour} {kind} on {background} {surface}", image, shot.mask))
    return shots


def test_the_automatic_mask_finds_rendered_products_on_plain_gradient_and_textured_backgrounds():
    shots = _packshots()
    assert len(shots) >= 20 and len({name.split(" on ")[1].split()[0] for name, _, _ in shots}) == 4
    scores = {name: masks.iou(masks.automatic(image), truth) for name, image, truth in shots}
    low = {name: round(score, 3) for name, score in scores.items() if score < 0.9}
    assert not low, f"IoU below 0.9: {low}"


def test_placement_keeps_the_aspect_ratio_and_the_composite_keeps_every_product_pixel():
    photo = Image.new("RGB", (300, 200), (200, 200, 200))
    ImageDraw.Draw(photo).rectangle((100, 50, 199, 149), fill=(200, 20, 20))  # a 100x100 red product
    mask = Image.new("L", (300, 200), 0)
    ImageDraw.Draw(mask).rectangle((100, 50, 199, 149), fill=255)
    placed = scene.place(photo, mask, (512, 256), scale=0.5, x=0.25, y=0.5)
    # 0.5 of the canvas's limiting side (256): 128 px square, centred at (128, 128)
    assert placed.box == (64, 64, 192, 192)
    assert placed.canvas.getpixel((128, 128)) == (200, 20, 20) and placed.canvas.getpixel((400, 20)) == (200, 200, 200)
    generated = Image.new("RGB", (512, 256), (10, 120, 10))
    out = np.asarray(scene.composite(generated, placed)).astype(int)
    keep = np.asarray(placed.mask) == 255
    assert (out[keep] == np.asarray(placed.canvas)[keep]).all()
    assert tuple(out[20, 400]) == (10, 120, 10)  # far from the product: the generated scene, untouched
    # a hard mask is a matte without a soft edge: nothing of the product is extended outward
    assert tuple(out[128, 192 + 2]) == (10, 120, 10)
    # feather (the scenes made before the matte, for their re-runs): the product's own colour blended outward
    feathered = scene.place(photo, mask, (512, 256), scale=0.5, x=0.25, y=0.5, edges="feather")
    ring = np.asarray(scene.composite(generated, feathered)).astype(int)[128, 192 + 2]
    assert ring[1] < 120 and ring[0] > 10


def test_the_base_anchor_stands_a_flat_and_a_tall_product_on_the_same_line():
    photo = Image.new("RGB", (400, 400), (230, 230, 230))
    flat, tall = Image.new("L", (400, 400), 0), Image.new("L", (400, 400), 0)
    flat.paste(255, (50, 150, 350, 250))  # a shoe: 300x100
    tall.paste(255, (150, 50, 250, 350))  # a bottle: 100x300
    for mask, height in ((flat, 85), (tall, 256)):
        placed = scene.place(photo, mask, (512, 512), scale=0.5, x=0.5, y=0.8, anchor="base")
        left, top, right, bottom = placed.box
        # both stand at 0.8 of 512 px (410), whatever their shape; the centre anchor (the default) centres them at y
        assert (bottom, bottom - top) == (410, height)
        left, top, right, bottom = scene.place(photo, mask, (512, 512), scale=0.5, x=0.5, y=0.5).box
        assert abs((top + bottom) / 2 - 256) <= 1
    # a base below the canvas is moved inside it, as any position is
    assert scene.place(photo, tall, (512, 512), scale=0.5, x=0.5, y=1.0, anchor="base").box[3] == 512


def test_a_product_at_the_edge_is_moved_inside_the_canvas():
    photo = Image.new("RGB", (100, 100), (255, 255, 255))
    mask = Image.new("L", (100, 100), 0)
    mask.paste(255, (10, 10, 90, 90))
    placed = scene.place(photo, mask, (256, 256), scale=0.5, x=1.0, y=0.0)
    assert placed.box == (128, 0, 256, 128)


@pytest.mark.django_db
def test_a_cut_out_upload_keeps_its_alpha_as_the_photo_mask(product):
    from catalog.services import photo_add

    rgba = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((30, 10, 89, 69), fill=(20, 40, 200, 255))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    photo, _ = photo_add(product=product, data=buffer.getvalue(), name="cutout.png")
    assert photo.mask_source == "alpha"
    stored_mask = np.asarray(Image.open(photo.mask.open("rb")))
    assert (stored_mask == np.where(np.asarray(rgba.getchannel("A")) >= 128, 255, 0)).all()
    # the RGB is still stored, flattened on white, as before
    stored = Image.open(photo.image.open("rb"))
    assert stored.mode == "RGB" and stored.getpixel((2, 2)) == (255, 255, 255) and stored.getpixel((60, 40)) == (20, 40, 200)


@pytest.mark.django_db
def test_a_cut_outs_soft_edge_is_kept_where_it_is_at_least_half_opaque(product):
    from catalog.services import photo_add

    # given a cut-out whose edge fades out: four bands of alpha 200, 128, 127 and 100 around an opaque core
    rgba = Image.new("RGBA", (100, 60), (0, 0, 0, 0))
    for inset, alpha in ((10, 100), (14, 127), (18, 128), (22, 200), (26, 255)):
        ImageDraw.Draw(rgba).rectangle((inset, inset - 8, 99 - inset, 59 - inset + 8), fill=(200, 30, 30, alpha))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    photo, _ = photo_add(product=product, data=buffer.getvalue(), name="soft.png")
    stored = np.asarray(Image.open(photo.mask.open("rb")))
    # then a pixel at least half opaque (alpha >= 128 of 255) is product, a pixel below it is scene
    row = 30
    assert [int(stored[row, x]) for x in (5, 12, 16, 20, 24, 50)] == [0, 0, 0, 255, 255, 255]
    assert photo.mask_source == "alpha"


@pytest.mark.django_db
def test_a_flat_photo_gets_no_mask_and_a_scene_job_says_how_to_make_one(product):
    from catalog.services import photo_add
    from generation import services

    photo, _ = photo_add(product=product, data=png_bytes((96, 96), (120, 60, 30)), name="flat.png")
    assert not photo.mask and photo.mask_source == ""
    with pytest.raises(ValidationError) as caught:
        services.job_create(mode="scene", prompt="a mug on a table", source_photo=photo)
    assert "paint the product" in caught.value.message_dict["source_photo"][0]


def _mask_png(size, box=None, fill=255) -> bytes:
    image = Image.new("L", size, 0)
    if box:
        image.paste(fill, box)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
def test_the_mask_endpoint_refuses_unusable_masks_with_a_sentence(client, merchandiser, reviewer, photo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/catalog/{photo.product.sku}/photos/{photo.pk}/mask.png"
    client.force_login(merchandiser)
    before = photo.mask.name
    cases = {
        "wrong size": (_mask_png((100, 100), (10, 10, 50, 50)), "is 100x100 px but the photo is 768x768 px"),
        "empty": (_mask_png((768, 768)), "The mask is empty"),
        "whole image": (_mask_png((768, 768), (0, 0, 768, 768)), "covers 100% of the photo"),
        "not an image": (b"GIF89a not really", "not a PNG image"),
    }
    for case, (data, sentence) in cases.items():
        response = client.post(url, {"mask": SimpleUploadedFile("mask.png", data, "image/png")})
        assert response.status_code == 400, case
        assert sentence in response.json()["error"], (case, response.json())
    photo.refresh_from_db()
    assert photo.mask.name == before and photo.mask_source == "automatic"  # nothing half-written
    # a usable mask is stored as drawn, and served back
    response = client.post(url, {"mask": SimpleUploadedFile("mask.png", _mask_png((768, 768), (200, 100, 560, 520)), "image/png")})
    assert response.status_code == 200 and response.json()["saved"]
    photo.refresh_from_db()
    assert photo.mask_source == "drawn"
    served = Image.open(io.BytesIO(client.get(url).content))
    assert served.size == (768, 768) and served.getpixel((300, 300)) == 255 and served.getpixel((50, 50)) == 0
    # a reviewer can look but not change it
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
    response = client.post(url, {"mask": SimpleUploadedFile("mask.png", _mask_png((768, 768), (0, 0, 10, 10)), "image/png")})
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_job_form_offers_scene_mode_with_its_own_fields(client, merchandiser, photo):
    client.force_login(merchandiser)
    page = client.get(f"/jobs/new/?product={photo.product.sku}&mode=scene&source_photo={photo.pk}").content.decode()
    mode_inputs = re.findall(r'<input[^>]*name="mode"[^>]*>', page)
    checked = [re.search(r'value="([^"]+)"', tag).group(1) for tag in mode_inputs if re.search(r"\bchecked\b", tag)]
    assert len(mode_inputs) == 3 and checked == ["scene"], mode_inputs
    assert 'name="product_scale"' in page and 'data-modes="scene"' in page
    assert f'<option value="{photo.pk}" selected>' in page
    response = client.post("/jobs/new/", {"mode": "scene", "product": photo.product.sku, "prompt": "headphones on marble",
                                          "source_photo": photo.pk, "num_inference_steps": 2, "guidance_scale": 7.5,
                                          "scheduler": "euler_a", "width": 64, "height": 64, "variants": 1,
                                          "product_scale": 0.6, "product_x": 0.5, "product_y": 0.55, "strength": 0.6, "edges": "matte", "shadow": "contact", "shadow_opacity": 0.5, "shadow_softness": 0.06, "light": 0})
    assert response.status_code == 302
    job = GenerationJob.objects.get()
    assert (job.mode, job.strength, job.product_scale) == ("scene", None, 0.6) and job.mask and job.mask_sha256
    # the job keeps its own copy: editing the photo's mask later changes no job
    assert job.mask.name != photo.mask.name


@pytest.mark.django_db
def test_scene_parameters_are_checked_like_the_others(photo):
    from generation import services

    with pytest.raises(ValidationError) as caught:
        services.job_create(mode="scene", prompt="x", source_photo=photo, product_scale=1.5)
    assert caught.value.message_dict["product_scale"] == ["Product size must be between 0.05 and 1 (0.6 suits a packshot)."]
    with pytest.raises(ValidationError) as caught:
        services.job_create(mode="text2img", prompt="x", controlnet_conditioning_scale=1.0)
    assert "applies to" in caught.value.message_dict["controlnet_conditioning_scale"][0]
    with pytest.raises(ValidationError) as caught:
        services.job_create(mode="scene", prompt="x")
    assert caught.value.message_dict["source_photo"] == [
        "Product in a new scene needs a source photo: pick one of the product's photos or upload one."]


@pytest.fixture
def live_controlnet(loaded):
    """The embedded ControlNet with non-zero output layers (it ships zero-initialised, so it changes nothing yet)."""
    import torch

    net = loaded.controlnet()
    layers = [*net.controlnet_down_blocks, net.controlnet_mid_block]
    saved = [(layer.weight.detach().clone(), layer.bias.detach().clone()) for layer in layers]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in layers:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.05)
    yield net
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, saved):
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)


def test_controlnet_pipelines_share_the_base_modules_and_weight_zero_is_no_controlnet(loaded, live_controlnet):
    from generation.inference import runner

    for mode in ("img2img", "scene"):
        plain, guided = loaded.pipeline(mode), loaded.pipeline(mode, edge_guidance=True)
        for name in ("vae", "text_encoder", "tokenizer"):
            assert getattr(plain, name) is getattr(loaded.text2img, name) and getattr(guided, name) is getattr(loaded.text2img, name)
        # scenes paint with the embedded inpainting UNet, with or without the ControlNet; img2img with the model's own
        unet = loaded.inpaint_unet() if mode == "scene" else loaded.text2img.unet
        assert plain.unet is unet and guided.unet is unet and unet.config.in_channels == (9 if mode == "scene" else 4)
        assert guided.controlnet is live_controlnet
    photo = Image.open(DEMO_PHOTO).convert("RGB")
    mask = masks.automatic(photo)
    common = dict(prompt="black headphones on a wooden table", seed=3, num_inference_steps=3, width=128, height=128,
                  source_image=photo)
    specs = {
        "img2img": dict(common, mode="img2img", strength=0.7),
        "scene": dict(common, mode="scene", product_scale=0.6, product_x=0.5, product_y=0.55, mask_image=mask),
    }
    for mode, spec in specs.items():
        off = np.asarray(runner.run(runner.JobSpec(**spec), loaded).image)
        zero = runner.run(runner.JobSpec(**spec, controlnet_conditioning_scale=0.0), loaded)
        one = np.asarray(runner.run(runner.JobSpec(**spec, controlnet_conditioning_scale=1.0), loaded).image)
        assert (np.asarray(zero.image) == off).all(), mode
        assert (one != off).any(), mode  # the ControlNet's residuals do reach the UNet
        assert zero.control_image is not None and zero.control_image.size == (128, 128)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scene_job_keeps_the_products_pixels_and_reruns_identically(burst_worker, tmp_path, capsys):
    from generation import services

    # given the demo photo, a scene queued from the command line
    # (a product size and position other than the defaults: the worker must place the product where the job says)
    call_command("generate", mode="scene", image=DEMO_PHOTO, prompt="product shot of black headphones on a wooden table",
                 seed=42, num_inference_steps=12, width=256, height=256, controlnet_conditioning_scale=0.5,
                 product_scale=0.4, product_x=0.3, product_y=0.6)
    job = GenerationJob.objects.get()
    assert (job.product_scale, job.product_x, job.product_y, job.product_anchor) == (0.4, 0.3, 0.6, "base")
    burst_worker()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    output = Image.open(job.output.open("rb"))
    placed = scene.place(Image.open(job.source_photo.image.open("rb")), Image.open(job.mask.open("rb")), (256, 256),
                         scale=0.4, x=0.3, y=0.6, anchor="base")
    # the product's longer side is 0.4 of the 256 px canvas (102 px), centred at x 0.3, standing at y 0.6 (its base)
    left, top, right, bottom = placed.box
    assert max(right - left, bottom - top) == 102 and abs((left + right) / 2 - 77) <= 1 and abs(bottom - 154) <= 1
    import cv2

    inside = cv2.erode(np.asarray(placed.mask), np.ones((5, 5), np.uint8)) == 255  # the mask eroded by 2 px
    out, source = np.asarray(output.convert("RGB")), np.asarray(placed.canvas)
    assert inside.sum() > 1000 and (out[inside] == source[inside]).all()
    outside = np.asarray(placed.mask) == 0
    grey_change = np.abs(np.asarray(output.convert("L"), dtype=float) - np.asarray(placed.canvas.convert("L"), dtype=float))
    assert grey_change[outside].mean() > 20
    assert job.product_max_pixel_diff == 0 and job.background_change > 20
    assert COMPOSITE_URI in output.text["XML:com.adobe.xmp"]
    recorded = json.loads(output.text["sdstudio"])["parameters"]
    assert recorded["mode"] == "scene" and recorded["mask_sha256"] == job.mask_sha256
    assert job.control_image and Image.open(job.control_image.open("rb")).size == (256, 256)
    # when an operator re-runs it, the pixels are identical
    rerun = services.job_rerun(job=job, user=None)
    burst_worker()
    rerun.refresh_from_db()
    assert rerun.status == "succeeded" and rerun.rerun_result == "identical", rerun.error


@pytest.mark.django_db
def test_scenes_made_before_the_anchor_are_marked_centred_so_their_reruns_place_the_product_as_before(photo):
    import importlib

    from django.apps import apps

    from conftest import finished_job

    before = finished_job(product=photo.product, mode="scene", source_photo=photo, product_scale=0.6, product_x=0.5,
                          product_y=0.55, product_anchor="")
    text2img = finished_job(product=photo.product, mode="text2img")
    importlib.import_module("generation.migrations.0017_product_anchor").placed_as_before(apps, None)
    before.refresh_from_db()
    text2img.refresh_from_db()
    assert (before.product_anchor, text2img.product_anchor) == ("centre", "")


@pytest.mark.django_db
def test_a_sweep_from_a_scene_keeps_the_scenes_own_mask_not_the_photos_later_one(photo):
    from catalog.services import photo_set_mask
    from generation import experiments, services

    drawn = Image.new("L", (768, 768), 0)
    drawn.paste(255, (300, 300, 500, 500))
    baseline = services.job_create(mode="scene", prompt="headphones on marble", source_photo=photo, mask=drawn, width=64, height=64)
    photo_set_mask(photo=photo, data=_mask_png((768, 768), (0, 0, 100, 100)))  # the photo's mask changes afterwards
    experiment = experiments.sweep_create(baseline=baseline, parameter="seed", values=[1, 2])
    for job in experiment.jobs.all():
        # the baseline's own copy (its matte, soft along the drawn edge), not the photo's new mask
        kept = np.asarray(Image.open(job.mask.open("rb")))
        assert (kept == np.asarray(Image.open(baseline.mask.open("rb")))).all()
        assert masks.iou(Image.fromarray(kept), drawn) > 0.97 and kept[50, 50] == 0
        assert job.mask_sha256 == baseline.mask_sha256


def test_a_dedicated_inpainting_checkpoint_brings_its_unet_and_shares_the_rest(tmp_path, settings):
    """SDSTUDIO_INPAINT_MODEL: a 9-channel UNet (image latents + mask + masked image), as SD's inpainting checkpoints."""
    import torch
    from diffusers import UNet2DConditionModel

    from generation.inference import pipelines, runner

    base = pipelines.load_pipelines(modelinfo.inference_config())
    config = dict(base.text2img.unet.config)
    config["in_channels"] = 9
    torch.manual_seed(0)
    UNet2DConditionModel.from_config(config).save_pretrained(tmp_path / "unet")
    settings.SDSTUDIO_INPAINT_MODEL = str(tmp_path)
    base.config = modelinfo.inference_config()  # what a worker started with the setting is given
    pipe = base.pipeline("scene")
    assert pipe.unet.config.in_channels == 9 and pipe.unet is not base.text2img.unet
    assert pipe.vae is base.text2img.vae and pipe.text_encoder is base.text2img.text_encoder
    photo = Image.open(DEMO_PHOTO).convert("RGB")
    spec = runner.JobSpec(mode="scene", prompt="headphones on marble", seed=1, num_inference_steps=2, width=64, height=64,
                          product_scale=0.6, product_x=0.5, product_y=0.55, source_image=photo, mask_image=masks.automatic(photo))
    result = runner.run(spec, base)
    assert result.image.size == (64, 64) and scene.scene_fidelity(result.image, result.prepared.state).product_max_pixel_diff == 0
    assert base.environment("scene")["inpaint_model"] == str(tmp_path)


def test_scenes_on_the_demo_model_paint_with_its_inpainting_unet_unless_told_otherwise():
    from generation.inference.config import InferenceConfig

    assert InferenceConfig().inpaint_label == "sdstudio-embedded-inpainting-v2"
    assert InferenceConfig(model="embedded").inpaint_label == "sdstudio-embedded-inpainting-v2"
    assert InferenceConfig(inpaint_model=" none ").inpaint_label == ""  # the model's own UNet, as scenes ran before
    assert InferenceConfig(model="embedded-random").inpaint_label == ""  # its own UNet is random and 4-channel
    assert InferenceConfig(model="stable-diffusion-v1-5/stable-diffusion-v1-5").inpaint_label == ""
    assert InferenceConfig(inpaint_model="/models/inpaint").inpaint_label == "/models/inpaint"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scene_job_on_the_embedded_model_runs_its_9_channel_inpainting_unet_in_a_real_worker(burst_worker, tmp_path, photo):
    """Its UNet is given noisy latents, the repaint mask and the kept product's latents (4 + 1 + 4 channels)."""
    from collections import Counter

    from conftest import GATED_WORKER
    from generation import services

    steps = 3
    scene_job = services.job_create(mode="scene", prompt="black headphones on a wooden table", source_photo=photo, seed=5,
                                    width=128, height=128, num_inference_steps=steps)
    text_job = services.job_create(mode="text2img", prompt="red mug on a white background", seed=5, width=64, height=64,
                                   num_inference_steps=steps)
    record = tmp_path / "unet-inputs.txt"
    burst_worker(args=GATED_WORKER, SDSTUDIO_TEST_UNET_INPUTS=str(record))
    for job in (scene_job, text_job):
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
    # one UNet call per step (both guidance branches in one batch)
    assert Counter(record.read_text().splitlines()) == {"scene 9": steps, "text2img 4": steps}
    assert scene_job.environment["inpaint_model"] == "sdstudio-embedded-inpainting-v2"
    assert "inpaint_model" not in text_job.environment
    assert scene_job.product_max_pixel_diff == 0
    # the text-to-image job was given the model's reading of its sentence; the scene its prompt as typed
    assert text_job.environment["prompt read as"] == "product shot of red ceramic mug on a white background, studio lighting"
    assert "prompt read as" not in scene_job.environment


def test_with_a_9_channel_unet_the_kept_regions_latents_are_the_photos_noised_to_the_next_step(loaded):
    """diffusers puts the kept latents back only for 4-channel UNets; SD Studio's scene mode does it for 9 as well."""
    import dataclasses

    import torch

    from generation import modes
    from generation.inference import runner

    mode = modes.get("scene")
    photo = Image.open(DEMO_PHOTO).convert("RGB")
    spec = runner.JobSpec(mode="scene", prompt="headphones on marble", seed=11, num_inference_steps=3, width=128, height=128,
                          product_scale=0.6, product_x=0.5, product_y=0.55, source_image=photo, mask_image=masks.automatic(photo))
    pipe = loaded.pipeline("scene")
    prepared = mode.prepare(spec)
    hook = mode.step_hook(pipe, [spec], [prepared], [torch.Generator().manual_seed(11)])
    assert hook is not None and hook.tensors == ["latents"]
    pipe.scheduler.set_timesteps(3)
    canvas = pipe.image_processor.preprocess(prepared.arguments["image"], height=128, width=128)
    kept = pipe.vae.encode(canvas).latent_dist.mode() * pipe.vae.config.scaling_factor
    # the mask at the latent size as diffusers' prepare_mask_latents makes it (nearest, the pipeline's mask channel)
    mask = pipe.mask_processor.preprocess(prepared.arguments["mask_image"], height=128, width=128)
    repaint = torch.nn.functional.interpolate(mask, size=(16, 16))[0, 0].numpy() >= 0.5
    assert 0 < (~repaint).sum() < repaint.size
    drawn = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    # after the last step: the kept region holds the photo's latents, the rest what the UNet drew
    last = hook(pipe, len(pipe.scheduler.timesteps) - 1, {"latents": drawn.clone()})["latents"]
    inside, outside = torch.from_numpy(~repaint), torch.from_numpy(repaint)
    assert torch.allclose(last[0][:, inside], kept[0][:, inside], atol=1e-5)
    assert torch.equal(last[0][:, outside], drawn[0][:, outside])
    # after the first: the photo's latents noised to the second step, with the job's own starting noise
    noise = torch.randn((1, 4, 16, 16), generator=torch.Generator().manual_seed(11))
    first = hook(pipe, 0, {"latents": drawn.clone()})["latents"]
    expected = pipe.scheduler.add_noise(kept, noise, pipe.scheduler.timesteps[1:2])
    assert torch.allclose(first[0][:, inside], expected[0][:, inside], atol=1e-5)
    assert not torch.allclose(first[0][:, inside], kept[0][:, inside], atol=0.1)
    # the model's own UNet (4 channels): diffusers puts the latents back itself
    own = dataclasses.replace(loaded, config=dataclasses.replace(loaded.config, inpaint_model="none"), _views={})
    assert own.pipeline("scene").unet.config.in_channels == 4
    assert mode.step_hook(own.pipeline("scene"), [spec], [prepared], [None]) is None
    assert own.environment("scene").get("inpaint_model") is None
    assert loaded.environment("scene")["kept_latents"] == "renoised"
