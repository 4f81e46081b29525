"""Train the embedded model on rendered product shots: diffusers' noise-prediction objective, on the CPU or a GPU.

The UNet2DConditionModel and the CLIP text encoder of the embedded model learn
together from captions of ``generation.productshots``; the VAE is the fixed
linear autoencoder of ``embedded.make_vae_linear`` (latents are the image at
1/8 scale), so shots are rendered straight at the latent size. Captions are dropped 10% of the time
(empty prompt) so classifier-free guidance works. Each step's batch, noise and
timesteps come from generators seeded by (seed, step): a run resumed from its
checkpoint takes the same path as one that never stopped.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from generation import phrasing, productshots, wordpieces
from generation.inference import embedded

logger = logging.getLogger(__name__)


@dataclass
class TrainingConfig:
    steps: int = 2000
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    shots: int = 4096
    seed: int = 7
    caption_dropout: float = 0.1
    ema_decay: float = 0.999
    min_snr_gamma: float = 5.0
    checkpoint_every: int = 100
    # Offset noise (Guttenberg 2023): a per-image, per-channel constant added to the noise, so the model learns
    # to move an image's mean colour. Without it a schedule whose last step keeps some signal never learns white
    # or black backgrounds (everything drifts to mid-gray).
    noise_offset: float = 0.0
    # Captions whose colour (and, drawn apart, surface) names another one (productshots.dataset): the exact captions
    # of rendered shots let the conditional model alone follow every prompt, so classifier-free guidance had nothing
    # to add; with imperfect captions, as on the web, guidance is what makes the model follow the prompt.
    caption_noise: float = 0.0
    # A diffusers folder to start from (fine-tuning): its UNet and text encoder, and its training.json's history.
    # --steps then counts this run's steps, and its learning-rate schedule (warm-up, cosine) starts again at 0.
    init_from: str = ""
    # Colours (comma-separated) drawn --focus-weight times as often on surfaces of another name: "white" names a
    # product colour and a background, and guidance pushed a gray background towards white behind white products.
    # A surface that names no colour (wood, marble, gray) here: every shot on it, --focus-weight times as often.
    focus: str = ""
    focus_weight: int = 1
    # The inpainting UNet (9 input channels: noisy latents, the repaint mask, the kept pixels' latents), as SD's
    # inpainting checkpoint was made: the first 4 channels of conv_in from --init-from (default: the shipped model),
    # the 5 new ones zero; the text encoder stays frozen, as the scene pipeline shares the model's own.
    inpainting: bool = False
    # Inpainting: each shot moved by up to this share of the frame and scaled by up to as much, with its mask, so the
    # kept latents alone tell where the product is (the rendered shots stand it low in the frame, where a scene puts
    # it where the person asks). May change on resume, like the noise offset.
    placement: float = 0.0
    # Inpainting: what the repainted region around a kept product is trained to become. "shot": the shot itself, whose
    # product reaches 1-3 cells past the kept (shrunk) region, so the model learns to draw more product there; a scene
    # then shows it as a shifted outline beside the real product (a ghost). "surface": the same shot rendered without
    # its product (the surface and the contact shadow), so around a kept product only the surface is drawn; the
    # scene's composite puts the product's own pixels over the kept region's margin.
    surround: str = "shot"
    # Everyday phrasing: only the text encoder learns, UNet frozen. Each shot is said in the caption grammar to the
    # --init-from model's own text encoder (the teacher), and in everyday words (generation.phrasing) to the one being
    # trained, which learns to make the UNet predict from it what the teacher's caption makes it predict
    # (distillation). The UNet, and so the inpainting UNet fine-tuned from it, keep the weights they were trained with.
    phrasing: bool = False
    phrasing_share: float = 0.7  # the other captions are the grammar's own, so the model keeps reading them as before
    # What --phrasing learns from: "teacher" (the UNet's prediction from the grammar's caption, above) or "shots" (the
    # shots themselves, diffusers' own objective through the frozen UNet, as textual inversion learns a word): the
    # teacher cannot teach what the model never drew well, the shots can.
    phrasing_target: str = "teacher"
    # What --phrasing trains: "text" (the text encoder, above) or "unet" (the UNet, with --phrasing-target shots: the
    # text encoder frozen, so what it reads of everyday words stays as it is, and the UNet learns from the shots to draw
    # what those readings say; a distillation cannot teach the UNet a kind or a surface it never drew well).
    phrasing_trains: str = "text"


@dataclass
class TrainingState:
    step: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    runs: list[list] = field(default_factory=list)  # [first step, precision] of each (re)start
    base_step: int = 0  # the step this training started from: the parent model's when fine-tuning (init_from)
    parents: list[dict] = field(default_factory=list)  # the training configs of the models this one was fine-tuned from


def shot_latents(workdir: Path, config: TrainingConfig,
                 progress: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, list[str], torch.Tensor, torch.Tensor]:
    """Render ``config.shots`` shots at the latent size (64 px for 512 px images) and cache them as latents.

    Returned with their captions, the products' masks at the same size (bool, True = product) and the latents of the
    same shots without their products.

    The linear VAE encodes an image as its 8x-smaller copy times LINEAR_LATENT_SCALE
    (measured: mean absolute difference 0.03 on [-1, 1] against encoding the 512 px
    shot), so a 64 px render *is* the latent, at 1/64 of the cost of encoding.
    """
    variant = f"-noise{config.caption_noise:g}" if config.caption_noise else ""
    if config.focus and config.focus_weight > 1:
        variant += f"-focus{config.focus.replace(',', '+')}x{config.focus_weight}"
    cache = workdir / f"latents-seed{config.seed}-n{config.shots}{variant}.pt"
    if cache.exists():
        saved = torch.load(cache)
        if "backgrounds" in saved:  # caches made before the surface-only renders: drawn again
            if progress:
                progress(len(saved["captions"]), config.shots)
            return saved["latents"], saved["captions"], saved["masks"], saved["backgrounds"]
    import numpy as np

    def as_latents(images) -> torch.Tensor:
        rgb = torch.from_numpy(np.stack([np.asarray(i, dtype=np.float32) for i in images])).permute(0, 3, 1, 2) / 127.5 - 1.0
        return torch.cat([rgb * embedded.LINEAR_LATENT_SCALE, torch.zeros_like(rgb[:, :1])], dim=1)

    latents, captions, masks, backgrounds = [], [], [], []
    chunk = 256
    for start in range(0, config.shots, chunk):
        shots = productshots.dataset(range(start, min(config.shots, start + chunk)), seed=config.seed, size=64,
                                     caption_noise=config.caption_noise, focus=focus_colours(config),
                                     focus_weight=config.focus_weight)
        latents.append(as_latents(s.image for s in shots))
        backgrounds.append(as_latents(s.background for s in shots))
        captions += [s.caption for s in shots]
        masks.append(torch.from_numpy(np.stack([np.asarray(s.mask) >= 128 for s in shots]))[:, None])
        if progress:
            progress(len(captions), config.shots)
    result, mask, surface = torch.cat(latents).to(torch.float16), torch.cat(masks), torch.cat(backgrounds).to(torch.float16)
    workdir.mkdir(parents=True, exist_ok=True)
    torch.save({"latents": result, "captions": captions, "masks": mask, "backgrounds": surface}, cache)
    return result, captions, mask, surface


def focus_colours(config: TrainingConfig) -> tuple[str, ...]:
    return tuple(c.strip() for c in config.focus.split(",") if c.strip())


# How the inpainting UNet's repaint masks are drawn (SD's inpainting checkpoint mixed random masks with full ones):
# most keep the product's solid interior, shrunk by 1-3 latent cells as scene.repaint_mask shrinks it by two, so the
# model learns to draw a surface (and the shadow) around one given product and no second one; some repaint a random
# rectangle, some everything (the model then works as text-to-image).
KEEP_PRODUCT_SHARE, RECTANGLE_SHARE = 0.7, 0.15


def repaint_masks(products: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """(B, 1, H, W) repaint masks (1 = repaint, as diffusers' inpainting pipelines) for products' masks (1 = product)."""
    b, _, h, w = products.shape
    kind = torch.rand(b, generator=g)
    radius = torch.randint(1, 4, (b,), generator=g)
    corners = torch.rand(b, 4, generator=g)  # drawn for every sample, so each step draws the same numbers
    masks = torch.ones_like(products)
    for i in range(b):
        if kind[i] < KEEP_PRODUCT_SHARE:
            r = int(radius[i])
            kept = 1 - F.max_pool2d(1 - products[i:i + 1], 2 * r + 1, stride=1, padding=r)  # erosion by r cells
            masks[i] = 1 - (kept if kept.any() else products[i:i + 1])
        elif kind[i] < KEEP_PRODUCT_SHARE + RECTANGLE_SHARE:
            x0, y0 = int(corners[i, 0] * w * 0.6), int(corners[i, 1] * h * 0.6)
            x1, y1 = x0 + max(4, int(corners[i, 2] * (w - x0))), y0 + max(4, int(corners[i, 3] * (h - y0)))
            masks[i].zero_()
            masks[i, :, y0:y1, x0:x1] = 1
    return masks


def surround_with_surface(x0: torch.Tensor, surface: torch.Tensor, products: torch.Tensor, repaint: torch.Tensor) -> torch.Tensor:
    """The shots whose kept region lies inside their product, with the surface alone (``surface``: the same shots
    without their products) wherever they are repainted; the others (a random rectangle, everything) unchanged."""
    kept = 1 - repaint
    around_product = (kept.sum(dim=(1, 2, 3)) > 0) & ((kept * (1 - products)).sum(dim=(1, 2, 3)) == 0)
    return torch.where(around_product[:, None, None, None], x0 * kept + surface * repaint, x0)


def _moved(x0, products, noise, noise_scheduler, t, share: float, g: torch.Generator):
    """The shots (and masks) moved by up to ``share`` of the frame and scaled by 1 +- ``share``, noised again.

    Edges are repeated into the uncovered border (a reflection would draw a second product)."""
    b = x0.shape[0]
    draws = torch.rand(b, 3, generator=g) * 2 - 1
    scale = 1 + share * draws[:, 0]  # > 1 shows the product smaller
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = 2 * share * draws[:, 1:]
    grid = F.affine_grid(theta, list(x0.shape), align_corners=False)
    moved = F.grid_sample(x0, grid, mode="bilinear", padding_mode="border", align_corners=False)
    masks = F.grid_sample(products, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return moved, masks, noise_scheduler.add_noise(moved, noise, t)


def widen_for_inpainting(unet):
    """A copy of ``unet`` taking 9 input channels: its conv_in's weights for the first 4, zeros for the mask and
    the masked image's latents (diffusers' train_dreambooth_inpaint does the same), so it starts as the 4-channel
    model and learns to use what it is shown."""
    from diffusers import UNet2DConditionModel

    wide = UNet2DConditionModel.from_config({**unet.config, "in_channels": 9})
    state = unet.state_dict()
    weight = state["conv_in.weight"]
    state["conv_in.weight"] = torch.cat([weight, torch.zeros(weight.shape[0], 5, *weight.shape[2:], dtype=weight.dtype)], dim=1)
    wide.load_state_dict(state)
    return wide


def _lr(config: TrainingConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(
    *,
    workdir: Path,
    output: Path,
    config: TrainingConfig,
    device: str = "cpu",
    autocast_bf16: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    on_encode: Callable[[int, int], None] | None = None,
) -> TrainingState:
    """Train (resuming from ``workdir/checkpoint.pt`` when present) and save the pipeline to ``output``."""
    from diffusers import DDPMScheduler

    if not 0.0 <= config.caption_noise <= 1.0:
        raise ValueError(f"--caption-noise is a share of the captions, from 0 to 1 (got {config.caption_noise:g}).")
    if config.focus_weight < 1:
        raise ValueError(f"--focus-weight is how many times as often, 1 or more (got {config.focus_weight}).")
    productshots.combinations(focus_colours(config))  # an unknown colour is refused before any shot is drawn
    workdir.mkdir(parents=True, exist_ok=True)
    components = embedded.build_components("demo")
    unet, text_encoder, tokenizer = components["unet"], components["text_encoder"], components["tokenizer"]
    if config.phrasing_target not in ("teacher", "shots"):
        raise ValueError(f"--phrasing-target is teacher or shots (got {config.phrasing_target!r}).")
    if config.surround not in ("shot", "surface"):
        raise ValueError(f"--surround is shot or surface (got {config.surround!r}).")
    if config.phrasing_trains not in ("text", "unet"):
        raise ValueError(f"--phrasing-trains is text or unet (got {config.phrasing_trains!r}).")
    if config.phrasing_trains == "unet" and not (config.phrasing and config.phrasing_target == "shots"):
        raise ValueError("--phrasing-trains unet learns from the shots: give it with --phrasing --phrasing-target shots.")
    if config.inpainting and config.phrasing:
        raise ValueError("--phrasing teaches the shared text encoder, --inpainting trains a UNet with it frozen: one at a time.")
    parent = teacher = None
    init = Path(config.init_from or embedded.TRAINED_DIR)
    # --inpainting from an inpainting UNet's folder (9 channels, no text encoder): it trains on from that UNet, with
    # the shipped model's text encoder, which every scene reads.
    wide = config.inpainting and _in_channels(init) == 9
    if config.inpainting or config.phrasing:
        parent = _start_from(embedded.TRAINED_DIR if wide else init, unet, text_encoder, tokenizer)
    if config.inpainting:
        unet = components["unet"] = widen_for_inpainting(unet)
    if wide:
        from safetensors.torch import load_file

        unet.load_state_dict({k: v.float() for k, v in load_file(init / "unet" / "diffusion_pytorch_model.safetensors").items()})
        parent = _history(init)
    if config.phrasing:
        teacher = _teacher(Path(config.init_from or embedded.TRAINED_DIR), device)
        shot_labels = productshots.labels(range(config.shots), seed=config.seed, focus=focus_colours(config),
                                          focus_weight=config.focus_weight)
    latents, captions, product_masks, backgrounds = shot_latents(workdir, config, on_encode)
    noise_scheduler = DDPMScheduler.from_config(embedded.SD15_SCHEDULER_CONFIG)
    alphas = noise_scheduler.alphas_cumprod
    snr = alphas / (1 - alphas)

    unet.to(device).train(_unet_learns(config))
    text_encoder.to(device).train(_text_learns(config))
    params = trained_parameters(config, unet, text_encoder)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=1e-2)
    ema = [p.detach().clone() for p in params]
    state = TrainingState()
    checkpoint = workdir / "checkpoint.pt"
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device)
        # The step count (and how often to checkpoint) may change on resume: to train longer, or stop sooner.
        same = {k: v for k, v in asdict(config).items() if k not in ("steps", "checkpoint_every", "noise_offset", "placement")}
        if {k: v for k, v in saved["config"].items() if k in same} != same:
            raise ValueError(f"{checkpoint} was made with other settings ({saved['config']}); remove it or pass the same ones.")
        unet.load_state_dict(saved["unet"])
        text_encoder.load_state_dict(saved["text_encoder"])
        optimizer.load_state_dict(saved["optimizer"])
        ema = [t.to(device) for t in saved["ema"]]
        state = TrainingState(**saved["state"])
        logger.info("Resumed from %s at step %s", checkpoint, state.step)
    elif parent is not None:
        state = parent
    elif config.init_from:
        state = _start_from(Path(config.init_from), unet, text_encoder, tokenizer)
        ema = [p.detach().clone() for p in params]

    note = ("inpainting (9 channels), " if config.inpainting else "")
    note += (f"phrasing ({'UNet' if config.phrasing_trains == 'unet' else 'text encoder'} only), " if config.phrasing else "")
    note += f"placement {config.placement:g}, " if config.placement else ""
    note += "surface around the kept product, " if config.inpainting and config.surround == "surface" else ""
    note += ("bf16-autocast" if autocast_bf16 else "fp32") + f", noise offset {config.noise_offset:g}"
    if config.caption_noise:
        note += f", caption noise {config.caption_noise:g}"
    if config.focus and config.focus_weight > 1:
        note += f", {config.focus} x{config.focus_weight} on other surfaces"
    if state.base_step:
        note = f"fine-tuning from step {state.base_step}, " + note
    state.runs.append([state.step, note])
    last = state.base_step + config.steps
    empty = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids
    token_cache = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                            return_tensors="pt").input_ids
    while state.step < last:
        started = time.perf_counter()
        step = state.step
        local = step - state.base_step  # this run's step: its learning-rate schedule and EMA warm-up start at 0
        g = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        index = torch.randint(0, len(captions), (config.batch_size,), generator=g)
        x0 = latents[index].float()
        flip = torch.rand(config.batch_size, generator=g) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        ids = token_cache[index].clone()
        drop = torch.rand(config.batch_size, generator=g) < config.caption_dropout
        if teacher is not None:
            said, taught = phrasing_captions([shot_labels[i] for i in index.tolist()], config, step)
            ids, teacher_ids = _tokens(tokenizer, taught), _tokens(teacher[1], said)
            teacher_ids[drop] = _tokens(teacher[1], [""])
        ids[drop] = empty
        noise = torch.randn(x0.shape, generator=g)
        if config.noise_offset:
            noise = noise + config.noise_offset * torch.randn((x0.shape[0], x0.shape[1], 1, 1), generator=g)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (config.batch_size,), generator=g)
        noisy = noise_scheduler.add_noise(x0, noise, t)
        if config.inpainting:
            products = product_masks[index].float()
            products = torch.where(flip[:, None, None, None], products.flip(-1), products)
            surface = backgrounds[index].float()
            surface = torch.where(flip[:, None, None, None], surface.flip(-1), surface)
            if config.placement:  # the shots and their product-free renders moved alike
                both, products, _ = _moved(torch.cat([x0, surface], dim=1), products, noise.repeat(1, 2, 1, 1),
                                           noise_scheduler, t, config.placement, g)
                x0, surface = both.chunk(2, dim=1)
            repaint = repaint_masks(products, g)
            if config.surround == "surface":
                x0 = surround_with_surface(x0, surface, products, repaint)
            noisy = torch.cat([noise_scheduler.add_noise(x0, noise, t), repaint, x0 * (1 - repaint)], dim=1)
        for group in optimizer.param_groups:
            group["lr"] = _lr(config, local)
        # bf16 autocast: about 25% faster on CPUs with AVX512-BF16 (and on GPUs); the weights stay fp32.
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=autocast_bf16):
            hidden = text_encoder(ids.to(device))[0]
            prediction = unet(noisy.to(device), t.to(device), encoder_hidden_states=hidden).sample
            target = noise.to(device)
            if teacher is not None and config.phrasing_target == "teacher":  # what the frozen UNet predicts from the grammar's caption of the same shot
                with torch.no_grad():
                    target = unet(noisy.to(device), t.to(device), encoder_hidden_states=teacher[0](teacher_ids.to(device))[0]).sample
        per_sample = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
        # Min-SNR weighting (Hang et al. 2023): less weight on the easy, low-noise timesteps.
        weight = torch.clamp(snr[t], max=config.min_snr_gamma) / snr[t]
        loss = (per_sample * weight.to(device)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        decay = min(config.ema_decay, (1 + local) / (10 + local))
        with torch.no_grad():
            for shadow, p in zip(ema, params):
                shadow.mul_(decay).add_(p.detach(), alpha=1 - decay)
        state.step += 1
        state.seconds += time.perf_counter() - started
        state.losses.append(round(float(loss.detach()), 5))
        if on_step:
            on_step(state.step - state.base_step, state.losses[-1])  # this run's steps, as --steps counts them
        if state.step % config.checkpoint_every == 0 or state.step == last:
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"config": asdict(config), "unet": unet.state_dict(), "text_encoder": text_encoder.state_dict(),
                        "optimizer": optimizer.state_dict(), "ema": ema, "state": asdict(state)}, tmp)
            tmp.replace(checkpoint)

    export(components, ema, params, output, state, config)
    return state


def _unet_learns(config: TrainingConfig) -> bool:
    return not config.phrasing or config.phrasing_trains == "unet"


def _text_learns(config: TrainingConfig) -> bool:
    return not config.inpainting and not (config.phrasing and config.phrasing_trains == "unet")


def trained_parameters(config: TrainingConfig, unet, text_encoder) -> list:
    """What this run trains: the UNet (not with --phrasing, unless --phrasing-trains unet) and the text encoder (not
    with --inpainting nor --phrasing-trains unet)."""
    unet.requires_grad_(_unet_learns(config))
    text_encoder.requires_grad_(_text_learns(config))
    return (list(unet.parameters()) if _unet_learns(config) else []) + (list(text_encoder.parameters()) if _text_learns(config) else [])


UNSAID_SHARE = 0.8  # of the everyday captions of shots on their backdrop: about one everyday caption in eleven


def phrasing_captions(shots: list[tuple[str, str, str]], config: TrainingConfig, step: int) -> tuple[list[str], list[str]]:
    """(the teacher's captions, the student's) for shots' (kind, colour, surface): each said in the caption grammar to
    the teacher and, ``phrasing_share`` of the time, in everyday words to the student (else the same grammar caption).

    The caption noise names another colour, and apart another surface, in both. An everyday caption of a shot on its
    colour's studio backdrop (``phrasing.backdrop``: white, gray for white products) leaves the surface unsaid
    ``UNSAID_SHARE`` of the time, so a prompt that names no surface ("sleek black wireless headphones") is read as on
    that backdrop, as a shop's packshot is, and not as the mean of every surface (a dark, muddled one).
    """
    said, taught = [], []
    for j, (kind, colour, surface) in enumerate(shots):
        rng = random.Random(f"phrasing/{config.seed}/{step}/{j}")
        if rng.random() < config.caption_noise:
            colour = rng.choice([c for c in productshots.COLOURS if c != colour])
        named = rng.choice([s for s in productshots.SURFACES if s != surface]) if rng.random() < config.caption_noise else surface
        if rng.random() < config.phrasing_share:
            unsaid = named == surface == phrasing.backdrop(colour) and rng.random() < UNSAID_SHARE
            taught.append(phrasing.caption(kind, colour, None if unsaid else named, rng))
            said.append(productshots.caption_for(kind, colour, named, rng))
        else:
            said.append(productshots.caption_for(kind, colour, named, rng))
            taught.append(said[-1])
    return said, taught


def _tokens(tokenizer, captions: list[str]) -> torch.Tensor:
    return tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                     return_tensors="pt").input_ids


def _teacher(folder: Path, device: str):
    """The saved model's own text encoder (frozen) and tokenizer: what --phrasing learns from."""
    from transformers import CLIPTextModel, CLIPTokenizer

    encoder = CLIPTextModel.from_pretrained(folder / "text_encoder").float().to(device).eval().requires_grad_(False)
    return encoder, CLIPTokenizer.from_pretrained(folder / "tokenizer", model_max_length=77)


def carry_vocabulary(weights: torch.Tensor, old_tokenizer, tokenizer) -> torch.Tensor:
    """Token embeddings for ``tokenizer``'s vocabulary from ``weights`` learned with ``old_tokenizer``'s.

    A token both know keeps its row; a new one (a word the captions did not hold before) starts as the mean of the
    rows the old tokenizer spelled it with, byte by byte, so the model first reads it as it read it before."""
    old, new = old_tokenizer.get_vocab(), tokenizer.get_vocab()
    table = torch.empty(len(new), weights.shape[1], dtype=weights.dtype)
    for token, i in new.items():
        if token in old:
            table[i] = weights[old[token]]
        else:
            spelled = old_tokenizer(wordpieces.token_text(token), add_special_tokens=False).input_ids
            table[i] = weights[spelled].mean(dim=0)
    return table


def _start_from(folder: Path, unet, text_encoder, tokenizer=None) -> TrainingState:
    """Load a saved model's UNet and text encoder (fine-tuning) and carry its training history on.

    When ``tokenizer``'s vocabulary is not the saved model's (the captions grew new words), the token embeddings are
    carried over word by word (``carry_vocabulary``)."""
    from safetensors.torch import load_file
    from transformers import CLIPTokenizer

    if not (folder / "unet").is_dir():
        raise ValueError(f"--init-from {folder}: not a diffusers folder with a unet/ (e.g. {embedded.TRAINED_DIR}).")
    unet.load_state_dict({k: v.float() for k, v in load_file(folder / "unet" / "diffusion_pytorch_model.safetensors").items()})
    text = {k: v.float() for k, v in load_file(folder / "text_encoder" / "model.safetensors").items()}
    key = next(k for k in text if k.endswith("token_embedding.weight"))
    if tokenizer is not None and (folder / "tokenizer").is_dir():
        old = CLIPTokenizer.from_pretrained(folder / "tokenizer")
        if old.get_vocab() != tokenizer.get_vocab():
            text[key] = carry_vocabulary(text[key], old, tokenizer)
    text_encoder.load_state_dict(text)
    return _history(folder)


def _in_channels(folder: Path) -> int:
    config = folder / "unet" / "config.json"
    return int(json.loads(config.read_text()).get("in_channels", 4)) if config.exists() else 4


def _history(folder: Path) -> TrainingState:
    """A saved model's training history (training.json), carried on by a fine-tuning of it."""
    history = json.loads((folder / "training.json").read_text()) if (folder / "training.json").exists() else {}
    steps = int(history.get("steps", 0))
    parents = list(history.get("parents", [])) + ([{"steps": steps, "config": history["config"]}] if "config" in history else [])
    return TrainingState(step=steps, seconds=float(history.get("seconds", 0.0)), losses=list(history.get("losses", [])),
                         runs=list(history.get("runs", [])), base_step=steps, parents=parents)


def export(components: dict, ema: list, params: list, output: Path, state: TrainingState, config: TrainingConfig) -> None:
    """Save the EMA weights (what generates best) as the pipeline."""
    with torch.no_grad():
        for shadow, p in zip(ema, params):
            p.copy_(shadow)
    save_pipeline(components, output, state, config)


def export_checkpoint(workdir: Path, output: Path) -> TrainingState:
    """The pipeline of the last checkpoint (EMA weights), without training further: to look at a run in progress."""
    saved = torch.load(workdir / "checkpoint.pt", map_location="cpu")
    components = embedded.build_components("demo")
    if saved["config"].get("inpainting"):
        components["unet"] = widen_for_inpainting(components["unet"])
    components["unet"].load_state_dict(saved["unet"])
    components["text_encoder"].load_state_dict(saved["text_encoder"])
    config = TrainingConfig(**saved["config"])
    params = trained_parameters(config, components["unet"], components["text_encoder"])
    state = TrainingState(**saved["state"])
    export(components, saved["ema"], params, output, state, config)
    return state


def save_pipeline(components: dict, output: Path, state: TrainingState, config: TrainingConfig) -> None:
    """The trained model as a diffusers folder (fp16 safetensors), loadable by StableDiffusionPipeline.from_pretrained.

    The inpainting UNet alone (``unet/``, as SDSTUDIO_INPAINT_MODEL loads it), beside its training history.
    """
    from diffusers import StableDiffusionPipeline

    if config.inpainting:
        output.mkdir(parents=True, exist_ok=True)
        components["unet"].to(torch.float16).save_pretrained(output / "unet", safe_serialization=True)
        _write_history(output, state, config)
        return
    pipe = StableDiffusionPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet", "scheduler")},
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.to("cpu")
    pipe.unet.to(torch.float16)
    pipe.text_encoder.to(torch.float16)
    output.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(output, safe_serialization=True)
    _write_history(output, state, config)


def _write_history(output: Path, state: TrainingState, config: TrainingConfig) -> None:
    (output / "training.json").write_text(json.dumps({
        "config": asdict(config), "steps": state.step, "seconds": round(state.seconds, 1), "runs": state.runs,
        "parents": state.parents,
        "losses": state.losses,
    }) + "\n")


def changes(runs: list[list]) -> list[tuple[int, str]]:
    """The (re)starts that changed how training ran, to mark on the loss curve."""
    marks, previous = [], None
    for step, note in runs:
        if note != previous and step:
            marks.append((step, note))
        previous = note
    return marks


def plot_losses(losses: list[float], path: Path, *, window: int = 50, title: str = "training loss",
                marks: list[tuple[int, str]] = ()) -> None:
    """The loss curve (raw and a moving average) on a log scale as a PNG, drawn with Pillow; ``marks`` label steps."""
    import math

    from PIL import Image, ImageDraw

    width, height, pad = 900, 420, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if not losses:
        image.save(path)
        return
    smooth = [sum(losses[max(0, i - window + 1): i + 1]) / len(losses[max(0, i - window + 1): i + 1]) for i in range(len(losses))]
    low = math.floor(math.log10(max(1e-6, min(losses))))
    high = math.ceil(math.log10(max(losses)))

    def xy(i: int, value: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * i / max(1, len(losses) - 1)
        y = height - pad - (height - 2 * pad) * (math.log10(max(value, 10.0**low)) - low) / max(1, high - low)
        return x, y

    draw.line([(pad, pad), (pad, height - pad), (width - pad, height - pad)], fill="black")
    for power in range(low, high + 1):
        y = xy(0, 10.0**power)[1]
        draw.line([(pad - 4, y), (width - pad, y)], fill=(230, 230, 230))
        draw.text((4, y - 6), f"1e{power}", fill="black")
    for k in range(6):
        i = round((len(losses) - 1) * k / 5)
        draw.text((xy(i, 1)[0] - 12, height - pad + 6), str(i + 1), fill="black")
    for n, (step, label) in enumerate(marks):
        x = xy(min(step, len(losses) - 1), 1)[0]
        draw.line([(x, pad), (x, height - pad)], fill=(200, 120, 40))
        # Long labels (fine-tuning runs) are wrapped at their commas and stacked under the earlier marks' labels.
        draw.multiline_text((x + 4, pad + 4 + 40 * (n % 3)), label.replace(", ", ",\n"), fill=(160, 90, 20), spacing=2)
    draw.line([xy(i, v) for i, v in enumerate(losses)], fill=(190, 200, 230), width=1)
    draw.line([xy(i, v) for i, v in enumerate(smooth)], fill=(20, 60, 180), width=3)
    draw.text((pad, 16), f"{title}: min-SNR weighted noise-prediction MSE per step (light), {window}-step mean (dark), log scale",
              fill="black")
    draw.text((width // 2 - 20, height - 22), "step", fill="black")
    image.save(path)
