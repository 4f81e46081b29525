"""Product shots drawn by code: the embedded model's training set, its adherence benchmark and mask tests.

Six product kinds, eight named colours and six surfaces, with lighting, shadow,
scale and position varied, each with a caption from a small grammar that holds
the brief's vocabulary ("product shot of sleek black wireless headphones on a
minimalist gray background, studio lighting"). Pillow and numpy only (no
torch): every shot is a pure function of its seed, and comes with the exact
mask of the product's pixels.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS: dict[str, tuple[str, ...]] = {
    "headphones": ("wireless headphones", "headphones", "over-ear headphones", "bluetooth headphones"),
    "mug": ("ceramic mug", "coffee mug", "mug"),
    "bottle": ("water bottle", "bottle", "insulated bottle"),
    "sneaker": ("sneaker", "running shoe", "sneakers"),
    "lamp": ("desk lamp", "table lamp", "lamp"),
    "watch": ("wristwatch", "watch", "smart watch"),
}
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 32),
    "white": (238, 238, 236),
    "red": (205, 32, 38),
    "blue": (32, 78, 205),
    "green": (36, 150, 64),
    "yellow": (240, 200, 36),
    "orange": (242, 122, 24),
    "pink": (240, 128, 182),
}
# Surface -> (caption phrases, base colour).
SURFACES: dict[str, tuple[tuple[str, ...], tuple[int, int, int]]] = {
    "white": (("white background", "clean white background", "minimalist white background", "pure white backdrop"), (246, 246, 246)),
    "gray": (("gray background", "minimalist gray background", "grey background", "neutral gray backdrop"), (150, 150, 152)),
    "black": (("black background", "dark background", "minimalist black background"), (22, 22, 24)),
    "wood": (("wooden table", "wood table", "rustic wooden table"), (150, 98, 56)),
    "marble": (("marble surface", "white marble", "marble countertop"), (226, 224, 220)),
    "blue": (("blue background", "pastel blue background", "soft blue backdrop"), (150, 186, 226)),
}
PREFIXES = ("product shot of", "ultra-realistic product shot of", "studio photo of", "e-commerce photo of", "a photo of",
            "professional photo of")
ADJECTIVES = ("sleek", "", "modern", "minimalist", "premium", "")
SUFFIXES = ("", ", studio lighting", ", studio lighting, sharp focus", ", soft shadows",
            ", studio lighting, sharp focus, professional e-commerce photography", ", professional e-commerce photography",
            ", high quality")
# Words people put in product prompts that the grammar above does not produce; they are in the tokenizer's vocabulary.
EXTRA_WORDS = ("ultra realistic photorealistic photograph product shot studio lighting sharp focus professional "
               "commerce photography high quality detailed background table surface on of a an the with and in "
               "front view side close up centered catalog shop 4k 8k hd soft light shadow shadows").split()

RENDER = 128  # drawn at 128 px then reduced to the size asked for (anti-aliasing)


@dataclass(frozen=True)
class Shot:
    kind: str
    colour: str
    surface: str
    caption: str
    image: Image.Image  # RGB
    mask: Image.Image  # L, 255 = product
    background: Image.Image  # RGB: the same shot without its product (the surface and its contact shadow)


def caption_for(kind: str, colour: str, surface: str, rng: random.Random) -> str:
    adjective = rng.choice(ADJECTIVES)
    words = [rng.choice(PREFIXES), adjective, colour, rng.choice(KINDS[kind]), "on a", rng.choice(SURFACES[surface][0])]
    return " ".join(w for w in words if w) + rng.choice(SUFFIXES)


def _surface(surface: str, size: int, rng: random.Random) -> Image.Image:
    base = np.array(SURFACES[surface][1], dtype=np.float32)
    base = np.clip(base + rng.uniform(-10, 10), 0, 255)
    y = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, size, dtype=np.float32)[None, :, None]
    light = rng.uniform(-0.08, 0.08)
    # A studio sweep: slightly brighter on one side, darker towards the bottom.
    shade = 1.0 + light * (x - 0.5) * 2 - 0.06 * y
    img = np.broadcast_to(base, (size, size, 3)) * shade
    np_rng = np.random.default_rng(rng.randrange(2**32))
    if surface == "wood":
        # Table top on the lower part, warm wall above; grain as horizontal stripes.
        horizon = int(size * rng.uniform(0.38, 0.5))
        rows = np.arange(size, dtype=np.float32)[:, None]
        grain = np.sin(rows * rng.uniform(0.5, 0.8) + np.sin(np.arange(size)[None, :] * 0.05) * 3) * 18
        grain = grain + np_rng.normal(0, 6, (size, size))
        wood = img + grain[:, :, None] * np.array([1.0, 0.75, 0.5])
        wall = np.broadcast_to(np.array([222, 208, 188], dtype=np.float32) * (1.0 + light), (size, size, 3))
        img = np.where(rows[:, :, None] < horizon, wall, wood)
    elif surface == "marble":
        veins = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(veins)
        for _ in range(rng.randint(4, 7)):
            points = [(rng.uniform(-10, size + 10), rng.uniform(-10, size + 10))]
            for _ in range(5):
                px, py = points[-1]
                points.append((px + rng.uniform(10, 40), py + rng.uniform(-25, 25)))
            draw.line(points, fill=rng.randint(60, 130), width=rng.randint(1, 3))
        v = np.asarray(veins.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32)[:, :, None] / 255.0
        img = img * (1 - 0.55 * v) + np_rng.normal(0, 2, (size, size, 1))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor + (12 if factor > 1 and max(rgb) < 60 else 0)))) for c in rgb)


def _draw_product(draw: ImageDraw.ImageDraw, kind: str, rgb, box: tuple[float, float, float, float]) -> None:
    """Draw one product filling ``box`` (x0, y0, x1, y1) in shades of ``rgb``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dark, light = _shade(rgb, 0.72), _shade(rgb, 1.18)
    if kind == "headphones":
        band = max(3, int(w * 0.11))
        draw.arc((x0 + w * 0.08, y0, x1 - w * 0.08, y0 + h * 1.05), start=180, end=360, fill=rgb, width=band)
        for cx in (x0, x1 - w * 0.3):
            draw.rounded_rectangle((cx, y0 + h * 0.42, cx + w * 0.3, y1), radius=w * 0.12, fill=rgb)
            draw.rounded_rectangle((cx + w * 0.05, y0 + h * 0.48, cx + w * 0.25, y1 - h * 0.06), radius=w * 0.08, fill=dark)
    elif kind == "mug":
        draw.ellipse((x1 - w * 0.42, y0 + h * 0.22, x1, y0 + h * 0.72), outline=rgb, width=max(3, int(w * 0.1)))
        draw.rounded_rectangle((x0, y0 + h * 0.08, x1 - w * 0.22, y1), radius=w * 0.1, fill=rgb)
        draw.ellipse((x0, y0, x1 - w * 0.22, y0 + h * 0.18), fill=dark)
        draw.rectangle((x0 + w * 0.08, y0 + h * 0.25, x0 + w * 0.18, y1 - h * 0.12), fill=light)
    elif kind == "bottle":
        cx = (x0 + x1) / 2
        draw.rectangle((cx - w * 0.16, y0, cx + w * 0.16, y0 + h * 0.12), fill=dark)
        draw.rectangle((cx - w * 0.2, y0 + h * 0.1, cx + w * 0.2, y0 + h * 0.24), fill=rgb)
        draw.rounded_rectangle((x0 + w * 0.12, y0 + h * 0.2, x1 - w * 0.12, y1), radius=w * 0.2, fill=rgb)
        draw.rectangle((x0 + w * 0.22, y0 + h * 0.32, x0 + w * 0.32, y1 - h * 0.1), fill=light)
    elif kind == "sneaker":
        sole = [(x0, y1 - h * 0.12), (x1, y1 - h * 0.12), (x1, y1), (x0 + w * 0.04, y1)]
        upper = [(x0, y1 - h * 0.1), (x0 + w * 0.05, y0 + h * 0.35), (x0 + w * 0.32, y0 + h * 0.2),
                 (x0 + w * 0.5, y0 + h * 0.45), (x1 - w * 0.08, y0 + h * 0.62), (x1, y1 - h * 0.12)]
        draw.polygon(upper, fill=rgb)
        draw.polygon(sole, fill=light if max(rgb) < 200 else dark)
        draw.line([(x0 + w * 0.3, y0 + h * 0.45), (x0 + w * 0.55, y0 + h * 0.65)], fill=dark, width=max(1, int(w * 0.04)))
    elif kind == "lamp":
        cx = (x0 + x1) / 2
        draw.polygon([(cx - w * 0.22, y0), (cx + w * 0.22, y0), (x1, y0 + h * 0.42), (x0, y0 + h * 0.42)], fill=rgb)
        draw.rectangle((cx - w * 0.04, y0 + h * 0.4, cx + w * 0.04, y1 - h * 0.08), fill=dark)
        draw.ellipse((x0 + w * 0.15, y1 - h * 0.14, x1 - w * 0.15, y1), fill=rgb)
    elif kind == "watch":
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        draw.rectangle((cx - w * 0.2, y0, cx + w * 0.2, y1), fill=rgb)
        draw.ellipse((x0 + w * 0.1, cy - w * 0.4, x1 - w * 0.1, cy + w * 0.4), fill=dark)
        draw.ellipse((x0 + w * 0.18, cy - w * 0.32, x1 - w * 0.18, cy + w * 0.32), fill=rgb)
        draw.line([(cx, cy), (cx, cy - w * 0.22)], fill=dark, width=max(1, int(w * 0.05)))
    else:
        raise ValueError(f"Unknown product kind {kind!r}; one of {', '.join(KINDS)}.")


# Width/height of each kind's bounding box relative to the shot's product scale.
ASPECT = {"headphones": (1.0, 0.95), "mug": (0.9, 0.8), "bottle": (0.5, 1.1), "sneaker": (1.15, 0.6),
          "lamp": (0.75, 1.1), "watch": (0.55, 1.1)}


def render(kind: str, colour: str, surface: str, *, seed: int, size: int = 64, caption: bool = True) -> Shot:
    """One product shot and its mask, a pure function of its arguments."""
    rng = random.Random(f"{kind}/{colour}/{surface}/{seed}")
    canvas = _surface(surface, RENDER, rng)
    rgb = tuple(int(max(0, min(255, c + rng.uniform(-12, 12)))) for c in COLOURS[colour])
    scale = rng.uniform(0.42, 0.62) * RENDER
    aw, ah = ASPECT[kind]
    w, h = scale * aw, scale * ah
    cx = RENDER / 2 + rng.uniform(-0.1, 0.1) * RENDER
    bottom = RENDER * rng.uniform(0.74, 0.86)
    box = (cx - w / 2, bottom - h, cx + w / 2, bottom)
    # Soft contact shadow on the surface.
    shadow = Image.new("L", (RENDER, RENDER), 0)
    ImageDraw.Draw(shadow).ellipse((box[0] - w * 0.05, bottom - h * 0.06, box[2] + w * 0.1, bottom + h * 0.08), fill=rng.randint(90, 150))
    canvas.paste((12, 12, 14), (0, 0), shadow.filter(ImageFilter.GaussianBlur(RENDER / 40)))
    background = canvas.resize((size, size), Image.Resampling.LANCZOS)
    # The product on its own layer: its alpha is the mask.
    layer = Image.new("RGB", (RENDER, RENDER), (0, 0, 0))
    silhouette = Image.new("RGB", (RENDER, RENDER), (0, 0, 0))
    _draw_product(ImageDraw.Draw(layer), kind, rgb, box)
    _draw_product(ImageDraw.Draw(silhouette), kind, (255, 255, 255), box)
    alpha = silhouette.convert("L").point(lambda v: 255 if v else 0)
    # Studio lighting: brighter towards the light's side.
    ramp = np.linspace(1.12, 0.86, RENDER, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    lit = np.asarray(layer, dtype=np.float32) * ramp[None, :, None]
    layer = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8), "RGB")
    canvas.paste(layer, (0, 0), alpha)
    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    mask = alpha.resize((size, size), Image.Resampling.BOX).point(lambda v: 255 if v >= 128 else 0)
    text = caption_for(kind, colour, surface, rng) if caption else ""
    return Shot(kind=kind, colour=colour, surface=surface, caption=text, image=image, mask=mask, background=background)


def combinations(focus: tuple[str, ...] = (), weight: int = 1) -> list[tuple[str, str, str]]:
    """Every kind x colour x surface, some ``weight`` times: a ``focus`` colour's on a surface of another name, and
    every shot on a ``focus`` surface that names no colour (wood, marble, gray)."""
    surfaces_only = [s for s in SURFACES if s not in COLOURS]
    unknown = [c for c in focus if c not in COLOURS and c not in surfaces_only]
    if unknown:
        raise ValueError(f"Unknown colour {unknown[0]!r}; one of {', '.join(COLOURS)}, or a surface: "
                         f"{', '.join(surfaces_only)}.")
    return [(k, c, s) for k in KINDS for c in COLOURS for s in SURFACES
            for _ in range(weight if (c in focus and s != c) or (s in focus and s in surfaces_only) else 1)]


def dataset(indices: range, *, seed: int, size: int = 64, caption_noise: float = 0.0, focus: tuple[str, ...] = (),
            focus_weight: int = 1) -> list[Shot]:
    """Shots number ``indices`` of a set cycling through every kind x colour x surface, deterministic from ``seed``.

    ``caption_noise``: the share of captions whose colour word names another colour, and (drawn
    independently) the share whose surface names another surface, as web captions often do. The
    shot keeps its true kind, colour and surface; only the caption is wrong.

    ``focus``/``focus_weight``: colours whose name is also a surface's ("white" product, "white background")
    drawn ``focus_weight`` times as often on the other surfaces, so the model learns the word's two roles apart.
    """
    combos = labels(indices, seed=seed, focus=focus, focus_weight=focus_weight)
    shots = [render(*combo, seed=seed * 1_000_003 + i, size=size) for i, combo in zip(indices, combos)]
    if caption_noise:
        shots = [replace(shot, caption=noisy_caption(shot, random.Random(f"caption-noise/{seed}/{i}"), caption_noise))
                 for i, shot in zip(indices, shots)]
    return shots


def labels(indices: range, *, seed: int, focus: tuple[str, ...] = (), focus_weight: int = 1) -> list[tuple[str, str, str]]:
    """The (kind, colour, surface) of ``dataset``'s shots, without drawing them."""
    combos = combinations(focus, focus_weight)
    random.Random(seed).shuffle(combos)
    return [combos[i % len(combos)] for i in indices]


def noisy_caption(shot: Shot, rng: random.Random, noise: float) -> str:
    """A caption of ``shot`` whose colour, and independently its surface, is another one with probability ``noise``."""
    colour = rng.choice([c for c in COLOURS if c != shot.colour]) if rng.random() < noise else shot.colour
    surface = rng.choice([s for s in SURFACES if s != shot.surface]) if rng.random() < noise else shot.surface
    return caption_for(shot.kind, colour, surface, rng)


def grammar_words() -> list[str]:
    """Every phrase the caption grammar can hold (the vocabulary the embedded model was first trained on)."""
    words = list(PREFIXES) + list(ADJECTIVES) + list(SUFFIXES) + list(COLOURS) + EXTRA_WORDS + ["on a", "grey", "gray"]
    for phrases in KINDS.values():
        words += phrases
    for phrases, _ in SURFACES.values():
        words += phrases
    return [w for w in words if w]
