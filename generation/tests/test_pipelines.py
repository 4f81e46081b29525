"""The embedded model and the pipelines, for real (tiny sizes: 64x64, 2 steps)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import TINY
from generation.inference import pipelines, runner
from generation.parameters import SCHEDULERS
from generation.inference.embedded import build_embedded_pipeline, ensure_embedded_model


def spec(**changes) -> runner.JobSpec:
    base = dict(mode="text2img", prompt="black headphones", negative_prompt="", seed=42, guidance_scale=7.5, scheduler="euler_a", **TINY)
    base.update(changes)
    return runner.JobSpec(**base)


def pixels(result: runner.RunResult) -> np.ndarray:
    return np.asarray(result.image.convert("RGB"))


def test_embedded_model_is_saved_and_loaded_through_from_pretrained(tmp_path):
    # given a fresh cache folder
    # when the embedded model is ensured
    folder = ensure_embedded_model(tmp_path)
    # then it is a diffusers folder with SD v1.5's components, loadable by the same call as the Hub model
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    assert {"unet", "vae", "text_encoder", "tokenizer", "scheduler"} <= set(index)
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder)
    assert pipe.vae_scale_factor == 8, "SD v1.5's VAE downsamples by 8"
    assert pipe.vae.config.latent_channels == 4
    assert pipe.unet.config.in_channels == 4
    assert pipe.vae.config.scaling_factor == pytest.approx(0.18215)
    assert type(pipe.scheduler).__name__ == "PNDMScheduler"
    assert pipe.tokenizer.model_max_length == 77
    ids = pipe.tokenizer("black headphones").input_ids
    assert ids[0] == pipe.tokenizer.bos_token_id and ids[-1] == pipe.tokenizer.eos_token_id
    assert len(ids) == len("black headphones") + 1  # bytes, the space merged into "</w>", plus BOS/EOS


def test_embedded_build_is_deterministic(tmp_path):
    # given two independent builds
    first = build_embedded_pipeline(tmp_path / "a")
    second = build_embedded_pipeline(tmp_path / "b")
    # then every weight is equal, and the caller's RNG is untouched
    for name in ("unet", "vae", "text_encoder"):
        a, b = getattr(first, name).state_dict(), getattr(second, name).state_dict()
        assert all(torch.equal(a[key], b[key]) for key in a)
    torch.manual_seed(1)
    expected = torch.rand(1)
    torch.manual_seed(1)
    build_embedded_pipeline(tmp_path / "c")
    assert torch.equal(torch.rand(1), expected)


def test_ensure_reuses_an_existing_build(tmp_path):
    folder = ensure_embedded_model(tmp_path)
    stamp = (folder / "model_index.json").stat().st_mtime_ns
    assert ensure_embedded_model(tmp_path) == folder
    assert (folder / "model_index.json").stat().st_mtime_ns == stamp
    assert folder.name == "sdstudio-embedded-sd15-v1"


def test_img2img_shares_every_module_with_text2img(loaded):
    # then no weight exists twice: the img2img pipeline holds the very same module objects
    for name in ("unet", "vae", "text_encoder", "tokenizer"):
        assert getattr(loaded.img2img, name) is getattr(loaded.text2img, name), name
    t2i_params = {p.data_ptr() for p in loaded.text2img.unet.parameters()}
    assert all(p.data_ptr() in t2i_params for p in loaded.img2img.unet.parameters())


def test_same_seed_same_pixels_other_seed_differs(loaded):
    first = pixels(runner.run(spec(seed=42), loaded))
    again = pixels(runner.run(spec(seed=42), loaded))
    other = pixels(runner.run(spec(seed=43), loaded))
    assert first.shape == (64, 64, 3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("slug", sorted(SCHEDULERS))
def test_every_scheduler_builds_from_config_and_runs(loaded, slug):
    scheduler = pipelines.make_scheduler(slug, loaded.scheduler_config)
    assert type(scheduler).__name__ == SCHEDULERS[slug].diffusers_class
    # SD v1.5's training schedule is carried over, not the class defaults
    assert scheduler.config.beta_schedule == "scaled_linear"
    assert scheduler.config.beta_end == pytest.approx(0.012)
    steps = []
    result = runner.run(spec(scheduler=slug), loaded, on_step=lambda i, n: steps.append((i, n)))
    assert result.image.size == (64, 64)
    last_step, total = steps[-1]
    assert last_step == total >= 2  # ran to its last timestep (PNDM's PLMS adds one warm-up step)


def test_schedulers_change_the_image(loaded):
    euler_a = pixels(runner.run(spec(scheduler="euler_a"), loaded))
    ddim = pixels(runner.run(spec(scheduler="ddim"), loaded))
    assert not np.array_equal(euler_a, ddim)


def test_unknown_scheduler_is_a_clear_error(loaded):
    with pytest.raises(ValueError, match="Unknown scheduler 'karras'"):
        pipelines.make_scheduler("karras", loaded.scheduler_config)


def test_img2img_runs_strength_times_steps(loaded):
    from PIL import Image

    source = Image.new("RGB", (100, 80), (200, 30, 30))
    steps = []
    result = runner.run(spec(mode="img2img", strength=0.5, num_inference_steps=4, source_image=source), loaded, on_step=lambda i, n: steps.append(n))
    assert result.image.size == (64, 64)
    assert result.steps_run == 2 and steps == [2, 2]


def test_cancel_from_the_step_callback_stops_the_run(loaded):
    def cancel(step, total):
        raise runner.JobCanceled()

    with pytest.raises(runner.JobCanceled):
        runner.run(spec(), loaded, on_step=cancel)


def test_generator_is_on_the_cpu_and_fresh_per_call():
    a, b = pipelines.make_generator(7), pipelines.make_generator(7)
    assert a.device.type == "cpu"
    assert torch.equal(torch.randn(3, generator=a), torch.randn(3, generator=b))


def test_device_and_dtype_resolution(settings):
    assert pipelines.resolve_dtype("cuda") is torch.float16
    assert pipelines.resolve_dtype("cpu") is torch.float32
    assert pipelines.resolve_dtype("cuda", "bf16") is torch.bfloat16
    from generation.inference.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="not one of auto, fp16"):
        pipelines.resolve_dtype("cpu", "int4")
    with pytest.raises(ConfigurationError, match="not one of auto, cpu"):
        pipelines.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigurationError, match="no CUDA GPU"):
            pipelines.resolve_device("cuda")


def test_the_embedded_vae_decodes_a_flat_latent_to_a_flat_image_up_to_its_edges(loaded):
    # A white latent (the image at 1/8 scale, in [-1, 1]) must decode white to the last pixel: zero padding in the
    # upsamplers' averaging drew a gray frame on every image.
    vae = loaded.text2img.vae
    latent = torch.full((1, vae.config.latent_channels, 8, 8), 0.9 * vae.config.scaling_factor)
    with torch.no_grad():
        image = vae.decode(latent / vae.config.scaling_factor).sample[0]
    centre = image[:, 32, 32]
    assert torch.allclose(image, centre[:, None, None].expand_as(image), atol=0.01)
