"""The embedded models: Stable Diffusion v1.5's structure at toy size, made locally.

They let SD Studio run end to end anywhere, with nothing to download: a UNet2D
conditional model, an AutoencoderKL with four blocks (scale factor 8, four
latent channels, SD's 0.18215 scaling factor), a CLIP text encoder and a CLIP
BPE tokenizer written from scratch, and SD v1.5's scheduler configuration,
loaded by the same ``from_pretrained`` call as the real model.

- ``demo`` (the default): trained by ``manage.py train_embedded_model`` on
  product shots the project renders itself; its weights ship in
  ``embedded_model/`` beside this file.
- ``tiny`` (``SDSTUDIO_MODEL=embedded-random``): random weights from a fixed
  seed, built once into the model cache; its images are noise.
- ``full`` (``embedded-full``): SD v1.5's full architecture with random weights.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from generation.inference.config import DEMO_NAME, FULL_NAME, RANDOM_NAME
from generation.wordpieces import write_tokenizer_files

logger = logging.getLogger(__name__)

EMBEDDED_SEED = 20240501
# The trained demonstration model ships in the repository (made by `manage.py train_embedded_model`).
TRAINED_DIR = Path(__file__).resolve().parent / "embedded_model"
# Its inpainting UNet (9 input channels), fine-tuned from it by `manage.py train_embedded_model --inpainting`: what
# scene jobs on the embedded model paint with, as SD v1.5's scenes use its inpainting checkpoint.
TRAINED_INPAINT_DIR = Path(__file__).resolve().parent / "embedded_inpainting"

# tiny: the default, seconds per 512x512 image on a CPU. full: SD v1.5's published configurations
# (UNet 859,520,964 parameters, VAE 83,653,863, CLIP text encoder 123,060,480) with random weights:
# the same shapes and arithmetic as the real model, for benchmarks on a GPU without any download.
SIZES = {
    # demo: trained on rendered product shots; a word-level tokenizer and a colour-true linear VAE.
    "demo": {
        "name": DEMO_NAME,
        # Attention only at 16x16 and 8x8 latents (at 512 px): 1.2 s per training step of 16 on 2 CPU cores.
        "unet": dict(layers_per_block=1, block_out_channels=(32, 64, 96, 128),
                     down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                     up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                     cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8),
        "vae": dict(block_out_channels=(16, 16, 16, 16), layers_per_block=1, norm_num_groups=8),
        "text": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, projection_dim=64),
    },
    "tiny": {
        "name": RANDOM_NAME,
        "unet": dict(layers_per_block=1, block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                     up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8),
        "vae": dict(block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8),
        "text": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, projection_dim=32),
    },
    "full": {
        "name": FULL_NAME,
        "unet": dict(layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
                     down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                     up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=768,
                     attention_head_dim=8, norm_num_groups=32),
        "vae": dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32),
        "text": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                     projection_dim=768, hidden_act="quick_gelu", vocab_size=49408),
    },
}

# SD v1.5's scheduler/scheduler_config.json, as published.
SD15_SCHEDULER_CONFIG = {
    "_class_name": "PNDMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,  # without it DDIM clips every x0 estimate to [-1, 1] (diffusers' default is True)
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}

# How strong the image is in the scaled latents against the unit-variance noise the schedulers add:
# with a random (untrained) UNet nothing removes that noise, so the image must stand above it for
# img2img at low strength to keep the photo, as with the real model.
LATENT_GAIN = 4.0

def _carry(conv, taps: str = "center", scale: float = 1.0) -> None:
    """conv maps channel c to channel c (for the channels both sides have), nothing else."""
    conv.weight.zero_()
    if conv.bias is not None:
        conv.bias.zero_()
    kh, kw = conv.weight.shape[2:]
    for c in range(min(conv.in_channels, conv.out_channels)):
        if taps == "mean":
            conv.weight[c, c].fill_(scale / (kh * kw))
        else:
            conv.weight[c, c, kh // 2, kw // 2] = scale


def _pass_through_blocks(vae) -> None:
    """Zero every residual branch and attention output (blocks pass their input through); resampling averages."""
    from diffusers.models.attention_processor import Attention
    from diffusers.models.downsampling import Downsample2D
    from diffusers.models.resnet import ResnetBlock2D
    from diffusers.models.upsampling import Upsample2D

    for module in vae.modules():
        if isinstance(module, ResnetBlock2D):
            module.conv2.weight.zero_()
            module.conv2.bias.zero_()
            if module.conv_shortcut is not None:
                _carry(module.conv_shortcut)
        elif isinstance(module, Attention):
            module.to_out[0].weight.zero_()
            module.to_out[0].bias.zero_()
        elif isinstance(module, (Downsample2D, Upsample2D)):
            _carry(module.conv, taps="mean")


def replicate_edges(vae) -> None:
    """Pad the decoder's upsampling convolutions by repeating edge pixels instead of zeros.

    They average 3x3 windows; with zero padding each of the three upsamplings darkened
    the image's outer pixels (a constant white latent decoded to 0.26, 0.50, 0.73 on its
    three outer rows against 0.90 inside: a gray frame on every image, and white
    backgrounds that were not white at the edges). Padding is not saved with the weights,
    so the loader sets it on the embedded models' VAE.
    """
    from diffusers.models.upsampling import Upsample2D

    for module in vae.decoder.modules():
        if isinstance(module, Upsample2D) and module.conv is not None:
            module.conv.padding_mode = "replicate"


def make_vae_near_identity(vae) -> None:
    """Set the VAE's weights so it behaves like an autoencoder: latents are an 8x-smaller copy of the image.

    Every residual branch and attention output is zeroed (blocks pass their input
    through), channel changes embed the RGB channels, downsampling averages 3x3
    windows and upsampling repeats pixels. A random VAE would turn any latent
    into unrelated noise; this one keeps the source photo's structure in
    img2img in proportion to (1 - strength), as SD v1.5's trained VAE does, so
    the brief's strength study and the fidelity measures mean something on the
    embedded model too. Text encoder and UNet stay random.
    """
    import torch

    with torch.no_grad():
        _pass_through_blocks(vae)
        encoder, decoder = vae.encoder, vae.decoder
        _carry(encoder.conv_in)
        # Norms before the output convolutions: keep values where SiLU is monotonic.
        for norm in (encoder.conv_norm_out, decoder.conv_norm_out):
            norm.weight.fill_(0.5)
            norm.bias.fill_(0.5)
        # Encoder: means = RGB times LATENT_GAIN (after the scaling factor); log-variances very
        # negative, so sampling the latent distribution returns its mean.
        latent = vae.config.latent_channels
        _carry(encoder.conv_out, scale=LATENT_GAIN / vae.config.scaling_factor)
        encoder.conv_out.weight[latent:].zero_()
        encoder.conv_out.bias[latent:].fill_(-30.0)
        _carry(vae.quant_conv)
        _carry(vae.post_quant_conv)
        _carry(decoder.conv_in)
        # Decoder: SiLU output in about [-0.2, 1.2] -> [-1, 1], the image range.
        _carry(decoder.conv_out, scale=1.42)
        decoder.conv_out.bias.fill_(-0.73)


# The linear VAE: each RGB channel travels as a (+x, -x) pair scaled far below GroupNorm's epsilon, so the
# norms before the output convolutions neither shift nor rescale colours (the pair's mean is exactly 0 and
# its variance negligible), and a large bias keeps SiLU in its linear range.
PAIR_SCALE = 1e-4
SILU_OFFSET = 8.0
# Latents of the trained model: the image in [-1, 1] at 1/8 scale, times this (unit-ish variance, as SD's).
LINEAR_LATENT_SCALE = 1.0


def make_vae_linear(vae) -> None:
    """Set a VAE with 16-channel blocks and 8 norm groups to encode an image as its 8x-smaller copy, colours kept."""
    import torch

    def split(conv, sources: int) -> None:
        """Input channel c -> channels 2c (+) and 2c+1 (-), scaled by PAIR_SCALE."""
        conv.weight.zero_()
        conv.bias.zero_()
        kh, kw = conv.weight.shape[2:]
        for c in range(sources):
            conv.weight[2 * c, c, kh // 2, kw // 2] = PAIR_SCALE
            conv.weight[2 * c + 1, c, kh // 2, kw // 2] = -PAIR_SCALE

    def join(conv, targets: int, scale: float) -> None:
        """Channels 2c after norm, offset and SiLU -> output channel c (the offset removed)."""
        conv.weight.zero_()
        conv.bias.zero_()
        kh, kw = conv.weight.shape[2:]
        for c in range(targets):
            conv.weight[c, 2 * c, kh // 2, kw // 2] = scale
            conv.bias[c] = -SILU_OFFSET * scale

    if vae.config.block_out_channels[0] != 16 or vae.config.norm_num_groups != 8:
        raise ValueError("make_vae_linear needs 16-channel blocks in 8 norm groups (pairs of channels).")
    with torch.no_grad():
        _pass_through_blocks(vae)
        # GroupNorm of a (+x, -x) pair at scale s: x * s / sqrt(eps) (eps = 1e-6), then weight and offset.
        gain = 1e-3 / PAIR_SCALE
        for norm in (vae.encoder.conv_norm_out, vae.decoder.conv_norm_out):
            norm.weight.fill_(gain)
            norm.bias.fill_(SILU_OFFSET)
        split(vae.encoder.conv_in, 3)
        latent = vae.config.latent_channels
        join(vae.encoder.conv_out, 3, LINEAR_LATENT_SCALE / vae.config.scaling_factor)
        vae.encoder.conv_out.weight[latent:].zero_()
        vae.encoder.conv_out.bias[latent:].fill_(-30.0)  # log-variance: sampling returns the mean
        _carry(vae.quant_conv)
        _carry(vae.post_quant_conv)
        vae.decoder.conv_in.weight.zero_()
        vae.decoder.conv_in.bias.zero_()
        # The decoder receives latents / scaling_factor.
        for c in range(3):
            vae.decoder.conv_in.weight[2 * c, c, 1, 1] = PAIR_SCALE * vae.config.scaling_factor / LINEAR_LATENT_SCALE
            vae.decoder.conv_in.weight[2 * c + 1, c, 1, 1] = -PAIR_SCALE * vae.config.scaling_factor / LINEAR_LATENT_SCALE
        join(vae.decoder.conv_out, 3, 1.0)


def build_components(size: str = "tiny") -> dict:
    """The five components, deterministically initialised (on the default device, or under torch.device("meta"))."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    spec = SIZES[size]
    with tempfile.TemporaryDirectory() as tmp:
        if size == "demo":
            from generation.vocabulary import vocabulary_text

            vocab_size = write_tokenizer_files(Path(tmp), vocabulary_text())
        else:
            vocab_size = write_tokenizer_files(Path(tmp))
        tokenizer = CLIPTokenizer.from_pretrained(tmp, model_max_length=77)
    text = {"vocab_size": vocab_size, **spec["text"]}
    # fork_rng restores the global RNG afterwards: building must not disturb the caller's seeds.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(EMBEDDED_SEED)
        unet = UNet2DConditionModel(sample_size=64, in_channels=4, out_channels=4, **spec["unet"])
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, sample_size=512, scaling_factor=0.18215,
            **spec["vae"],
        )
        if vae.encoder.conv_in.weight.device.type != "meta":
            (make_vae_linear if size == "demo" else make_vae_near_identity)(vae)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(max_position_embeddings=77, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                           pad_token_id=vocab_size - 1, **text)
        )
    return {
        "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet,
        "scheduler": PNDMScheduler.from_config(SD15_SCHEDULER_CONFIG),
    }


def build_embedded_pipeline(directory: Path, size: str = "tiny"):
    """Build an embedded model and save it under ``directory`` (a diffusers folder)."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        **build_components(size),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(directory, safe_serialization=True)
    return pipe


def embedded_folder(cache_dir: Path, size: str) -> Path:
    """Where an embedded model lives (the shipped trained one, or a random one built into the cache); not built here."""
    return TRAINED_DIR if size == "demo" else Path(cache_dir) / SIZES[size]["name"]


def ensure_embedded_model(cache_dir: Path, size: str = "tiny") -> Path:
    """Return the embedded model's folder: the shipped trained one, or a random one built once if absent.

    A build goes to a temporary folder renamed into place, so two workers
    starting together never see (or load) a half-written model.
    """
    if size == "demo":
        if not (TRAINED_DIR / "model_index.json").exists():
            from generation.inference.config import ConfigurationError

            raise ConfigurationError(
                f"The trained embedded model is missing from {TRAINED_DIR}. Restore it from the repository, "
                "train it (python manage.py train_embedded_model), or set SDSTUDIO_MODEL=embedded-random."
            )
        return TRAINED_DIR
    name = SIZES[size]["name"]
    target = embedded_folder(cache_dir, size)
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        logger.info("Building the embedded model in %s", target)
        build_embedded_pipeline(staging, size)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "model_index.json").exists():
                raise
            # Another process finished first; its build is identical.
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
