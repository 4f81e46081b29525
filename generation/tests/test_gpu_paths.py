"""The speed-up switches: exercised on the CPU where they can be, on CUDA when present (skipped otherwise, with the reason)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TINY
from generation import modelinfo
from generation.inference.config import ConfigurationError, parse_shapes
from generation.inference import pipelines, runner
from generation.inference.embedded import SIZES, build_components

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (fp16, channels-last on the GPU)")


def test_full_size_build_has_sd15_shapes_without_allocating():
    # the full-size embedded model, built on the meta device: no memory, exact parameter counts of SD v1.5
    with torch.device("meta"):
        parts = build_components("full")
    counts = {name: sum(p.numel() for p in parts[name].parameters()) for name in ("unet", "vae", "text_encoder")}
    assert counts == {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480}
    assert parts["unet"].config.cross_attention_dim == parts["text_encoder"].config.hidden_size == 768


def test_embedded_choices_and_labels(settings):
    settings.SDSTUDIO_MODEL = "embedded-full"
    assert modelinfo.is_embedded() and modelinfo.model_label() == SIZES["full"]["name"] == "sdstudio-random-sd15-full-v1"
    assert modelinfo.requested_model_id() == "embedded-full"
    settings.SDSTUDIO_MODEL = "embedded-random"
    assert modelinfo.requested_model_id() == "embedded-random" and modelinfo.model_label() == SIZES["tiny"]["name"]
    settings.SDSTUDIO_MODEL = ""
    assert modelinfo.requested_model_id() == "" and modelinfo.model_label() == SIZES["demo"]["name"]
    settings.SDSTUDIO_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert not modelinfo.is_embedded() and modelinfo.requested_model_id() == settings.SDSTUDIO_MODEL


def test_compiled_unet_with_warm_up_gives_the_same_pixels(settings, loaded):
    # given the compile switch (the eager backend keeps this test fast on 2 CPU cores; production uses inductor)
    settings.SDSTUDIO_COMPILE = True
    settings.SDSTUDIO_COMPILE_BACKEND = "eager"
    compiled = pipelines.load_pipelines(modelinfo.inference_config())
    # when the worker warms it up at the served shape, then runs a job
    assert runner.warm_up(compiled, parse_shapes("64x64")) > 0
    spec = runner.JobSpec(mode="text2img", prompt="headphones", negative_prompt="", seed=3, guidance_scale=7.5, scheduler="euler_a", **TINY)
    # then it is recorded in the fingerprint and changes no pixel
    assert compiled.fingerprint()["compile"] == "eager"
    assert compiled.img2img.unet is compiled.text2img.unet
    assert np.array_equal(np.asarray(runner.run(spec, compiled).image), np.asarray(runner.run(spec, loaded).image))


def test_warm_up_shapes_are_parsed_or_refused_clearly():
    assert parse_shapes("512x512, 768x512") == ((512, 512), (768, 512))
    with pytest.raises(ConfigurationError, match="'512' is not WIDTHxHEIGHT"):
        parse_shapes("512")


def test_vae_slicing_tiling_and_attention_slicing_switches(settings):
    settings.SDSTUDIO_VAE_SLICING = True
    settings.SDSTUDIO_VAE_TILING = True
    settings.SDSTUDIO_ATTENTION_SLICING = True
    loaded = pipelines.load_pipelines(modelinfo.inference_config())
    fingerprint = loaded.fingerprint()
    assert fingerprint["vae_slicing"] and fingerprint["vae_tiling"] and fingerprint["attention_slicing"]
    assert loaded.text2img.vae.use_tiling and loaded.text2img.vae.use_slicing
    spec = runner.JobSpec(mode="text2img", prompt="x", negative_prompt="", seed=1, guidance_scale=7.5, scheduler="ddim", **TINY)
    assert runner.run(spec, loaded).image.size == (64, 64)


def test_determinism_switch_is_applied_and_recorded(settings, loaded):
    settings.SDSTUDIO_DETERMINISTIC = True
    try:
        strict = pipelines.load_pipelines(modelinfo.inference_config())
        assert torch.are_deterministic_algorithms_enabled()
        assert strict.fingerprint()["deterministic"] is True
        spec = runner.JobSpec(mode="text2img", prompt="x", negative_prompt="", seed=4, guidance_scale=7.5, scheduler="euler_a", **TINY)
        assert np.array_equal(np.asarray(runner.run(spec, strict).image), np.asarray(runner.run(spec, loaded).image))
    finally:
        torch.use_deterministic_algorithms(False)


@cuda
def test_cuda_fp16_channels_last_and_shared_modules(settings):
    settings.SDSTUDIO_DEVICE = "cuda"
    loaded = pipelines.load_pipelines(modelinfo.inference_config())
    assert loaded.dtype is torch.float16 and next(loaded.text2img.unet.parameters()).is_cuda
    assert loaded.text2img.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert loaded.img2img.unet is loaded.text2img.unet
    spec = runner.JobSpec(mode="text2img", prompt="x", negative_prompt="", seed=1, guidance_scale=7.5, scheduler="euler_a", **TINY)
    first, again = runner.run(spec, loaded), runner.run(spec, loaded)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
