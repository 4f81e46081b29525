"""Does the embedded model draw what the prompt asks? Generates through the real diffusers pipeline and measures.

For each named colour, product kind and surface of SD Studio's product-shot grammar
(generation/productshots.py) it generates N seeds and checks the output:

- colour: the product region (pixels far from the background colour, measured on the
  border) has its median colour nearest (CIELAB) to the named colour's reference;
- surface: the border's brightness, saturation, hue and texture classify as the named
  surface (white, gray, black, wooden table, marble, blue); "background" is the same check on
  the colour test's images (all asked on the brief's gray background);
- kind: the product region's silhouette, cropped to its box, overlaps the named kind's
  template best (IoU against a rendered silhouette of every kind).

The scene part asks for each surface around a kept product, as a person would type it ("red mug on a wooden
table"): rendered products (a shot of each kind on white, with the renderer's own mask) and the demo photo (the
headphones, with their automatic mask). It scores the surface drawn around the product (the same classifier,
read on the scene's border) and counts ghosts, a second product drawn beside or behind the kept one: outside the
placed mask (dilated by 2% of the canvas), a blob that stands out from every colour of the scene's border and is
not a shadow, of at least a tenth of the product's area. Its share is of scenes with a ghost: lower is better.

The natural part (``bench/data/natural_prompts.csv``) asks the same of 42 prompts written by hand as a shop
would type them (no "product shot of" scaffolding, other word orders, plurals, upper case, words outside the
grammar such as "kitchen counter", "concrete", "shelf", "trainers"), each with the colour, kind and surface a
person expects (no surface scored where the prompt names none). On the embedded model the prompts go through the
job's own path, so the model is given what a job gives it: its reading of the sentence (generation.reading).

The kind reader compares the product's silhouette, proportions kept, with the renderer's. ``--seen`` checks it
against a person's reading of the same images (bench/data/natural_prompts_seen_v5.csv: v5's 336 natural images at
guidance 7.5, each looked at; 15 show no product that can be told, mostly black on a dark void).

Prints the share of seeds that match, per colour / surface / kind, at each guidance
scale and step count asked for, and each setting's detail (mean absolute Laplacian of the
image's luminance at 128 px, on 0-255: what fewer steps lose), then one table of them all.
Run it on the machine that will serve the model:

    .venv/bin/python bench/adherence.py                     # 512x512, 30 steps, guidance 1.0 and 7.5, 8 seeds
    .venv/bin/python bench/adherence.py --full              # guidance 1.0, 4.0, 7.5, 12.0 at 30 steps; 15 and 50 steps at 7.5
    .venv/bin/python bench/adherence.py --size 256 --seeds 4   # a quicker look
    .venv/bin/python bench/adherence.py --parts natural        # the hand-written prompts only
    .venv/bin/python bench/adherence.py --parts natural --prompts bench/data/natural_prompts_heldout.csv
    .venv/bin/python bench/adherence.py --parts natural --guidance 7.5 --seen bench/data/natural_prompts_seen_v5.csv
    .venv/bin/python bench/adherence.py --parts scene          # scenes around kept products only
    .venv/bin/python bench/adherence.py --parts scene --inpaint default,none   # its inpainting UNet against its own
    .venv/bin/python bench/adherence.py --parts scene --real --seeds 2   # and around real photos' products (opencv-doc)
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdstudio.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(rgb, dtype=np.float64).reshape(-1, 1, 3) / 255.0).reshape(-1, 3)


def border_pixels(a: np.ndarray) -> np.ndarray:
    h, w, _ = a.shape
    b = max(2, h // 12)
    return np.concatenate([a[:b].reshape(-1, 3), a[:, :b].reshape(-1, 3), a[:, -b:].reshape(-1, 3)])


def product_mask(a: np.ndarray) -> np.ndarray:
    """Pixels far (CIELAB) from every border colour cluster: the product (and its shadow, trimmed by the distance)."""
    border = border_pixels(a).astype(np.float64)
    # Two references for two-tone backgrounds (wall above a table): the top band and the side bands' bottom.
    h = a.shape[0]
    refs = lab(np.stack([np.median(a[: h // 8].reshape(-1, 3), axis=0), np.median(a[-h // 6:, : h // 12].reshape(-1, 3), axis=0),
                         np.median(border, axis=0)]))
    pixels = lab(a.reshape(-1, 3))
    distance = np.min(np.linalg.norm(pixels[:, None, :] - refs[None, :, :], axis=2), axis=1)
    mask = (distance > 25).reshape(a.shape[:2])
    mask[: h // 12] = False
    return mask


def classify_colour(a: np.ndarray, mask: np.ndarray, references: dict[str, tuple[int, int, int]]) -> str | None:
    if mask.sum() < 0.01 * mask.size:
        return None
    median = np.median(a[mask].reshape(-1, 3), axis=0)
    names = list(references)
    distances = np.linalg.norm(lab(np.array([references[n] for n in names])) - lab(median)[0], axis=1)
    return names[int(np.argmin(distances))]


MARBLE_TEXTURE = 0.6


def classify_surface(a: np.ndarray) -> str:
    import colorsys

    h = a.shape[0]
    top = a[: h // 8].reshape(-1, 3).astype(np.float64)
    sides = np.concatenate([a[h // 2:, : h // 12].reshape(-1, 3), a[h // 2:, -h // 12:].reshape(-1, 3)]).astype(np.float64)
    r, g, b = np.median(sides, axis=0) / 255.0
    hue, sat, val = colorsys.rgb_to_hsv(r, g, b)
    top_v = np.median(top.mean(axis=1)) / 255.0
    # Veins: high-frequency detail in the top band (a plain sweep only has a slow gradient).
    corners = [a[: h // 4, : h // 4], a[: h // 4, -h // 4:]]  # tall products reach the top band's middle
    texture = float(np.mean([np.abs(np.diff(c.astype(np.float64).mean(axis=2), axis=axis)).mean() for c in corners for axis in (0, 1)]) * 2)
    if val < 0.25:  # first: the hue and saturation of a near-black are noise (a bluish black is black)
        return "black"
    if sat > 0.22 and 0.5 < hue < 0.72:
        return "blue"
    if sat > 0.2 and 0.02 < hue < 0.15 and val < 0.8:
        return "wood"
    if val > 0.68 and texture > MARBLE_TEXTURE and top_v > 0.68:
        return "marble"
    if val > 0.85:
        return "white"
    return "gray"


def silhouette(mask: np.ndarray, size: int = 32) -> np.ndarray | None:
    """The mask cropped to its box and centred in a square (its proportions kept: a sneaker is wide, a bottle tall),
    at ``size`` px. Stretching the box to a square lost them: a soft-edged sneaker then filled its box as a bottle
    does, and 27% of the embedded model's products that a person reads as the kind asked for were read as another."""
    from PIL import Image

    ys, xs = np.nonzero(mask)
    if len(ys) < 10:
        return None
    crop = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=bool)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top: top + crop.shape[0], left: left + crop.shape[1]] = crop
    return np.asarray(Image.fromarray(square.astype(np.uint8) * 255).resize((size, size), Image.Resampling.BOX),
                      dtype=np.float64) / 255.0 > 0.5


def kind_templates() -> dict[str, list[np.ndarray]]:
    from generation import productshots

    return {kind: [silhouette(np.asarray(productshots.render(kind, "red", "white", seed=s, size=128).mask) > 0) for s in range(6)]
            for kind in productshots.KINDS}


def classify_kind(mask: np.ndarray, templates: dict[str, list[np.ndarray]]) -> str | None:
    shape = silhouette(mask)
    if shape is None:
        return None

    def iou(x, y):
        return (x & y).sum() / max(1, (x | y).sum())

    scores = {kind: max(iou(shape, t) for t in ts) for kind, ts in templates.items()}
    return max(scores, key=scores.get)


def detail(a: np.ndarray) -> float:
    """Mean absolute Laplacian of the luminance: fine texture and edges (0 on a flat image)."""
    y = a.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.abs(lap).mean())


TESTS = ("colour", "background", "surface", "kind", "natural colour", "natural kind", "natural surface", "scene surface",
         "scene ghost")
GHOST_MARGIN = 0.02  # the placed mask is dilated by this share of the canvas before looking for a second product
GHOST_AREA = 0.1  # a blob this share of the product's area, or larger, is a ghost
GHOST_STANDS_OUT = 40.0  # grey levels (largest channel) from every border colour: not the scene


# The real photographs of bench/real_masks (bench/masks.py reads them) and what a shop would call their product.
REAL_PRODUCTS = {"coffee": "coffee cup", "apple": "apple", "orange": "orange", "butterfly": "butterfly",
                 "notebook": "notebook", "squirrel": "squirrel", "plant": "potted plant"}


def scene_sources(size: int, seeds: int, real: bool = False):
    """(label, colour name or None, photo, mask) of the scene part: a rendered shot of each kind on white, the demo
    photo with its automatic mask and, with ``real``, the real photographs with their true masks."""
    from PIL import Image

    from catalog import masks
    from catalog.demo_data import DEMO_PHOTO
    from generation import productshots

    colours = ("red", "blue", "green", "orange")
    for i, kind in enumerate(productshots.KINDS):
        shot = productshots.render(kind, colours[i % len(colours)], "white", seed=i, size=size, caption=False)
        yield kind, colours[i % len(colours)], shot.image, shot.mask
    demo = Image.open(DEMO_PHOTO).convert("RGB")
    yield "headphones (demo photo)", None, demo, masks.find_product(demo)[0]
    if real:
        sys.path.insert(0, str(ROOT / "bench"))
        from masks import real_photos

        for name, photo, true_mask in real_photos():
            yield f"{REAL_PRODUCTS[name]} (real photo)", None, photo, true_mask.convert("L")


def ghost(a: np.ndarray, placed_mask: np.ndarray) -> bool:
    """A second product behind the kept one: outside the placed mask (dilated), a blob that stands out from every
    colour of the scene's border (its surfaces, a wall and a table), that is not a shadow (the scene darkened
    evenly), and that is at least GHOST_AREA of the product's area."""
    import cv2

    from catalog.masks import _border, _distance_to_border_colours

    h, w, _ = a.shape
    grow = max(1, round(GHOST_MARGIN * max(h, w)))
    outside = ~cv2.dilate(placed_mask.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    pixels = a.astype(np.float64)
    border = _border((h, w), max(2, h // 16)) & outside
    stands_out = _distance_to_border_colours(pixels, border) > GHOST_STANDS_OUT
    scene = np.median(pixels[border], axis=0) + 1.0
    ratio = (pixels + 1.0) / scene
    shadow = (ratio.max(axis=-1) < 1.0) & (ratio.max(axis=-1) - ratio.min(axis=-1) < 0.12)
    blobs = stands_out & ~shadow & outside
    blobs = cv2.morphologyEx(blobs.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    largest = stats[1:, cv2.CC_STAT_AREA].max() if count > 1 else 0
    return largest >= GHOST_AREA * max(1, placed_mask.sum())


NATURAL_PROMPTS = ROOT / "bench" / "data" / "natural_prompts.csv"


def placement(option: str) -> dict:
    """The scenes' product_anchor and product_y from ``anchor:y`` (nothing: the scene mode's defaults)."""
    if not option:
        return {}
    anchor, y = option.split(":")
    return {"product_anchor": anchor, "product_y": float(y)}


def scene_negative(option: str, label: str) -> str:
    """The scene's negative prompt: ``option`` as given, or with 'kind' the product's own kind ('headphones')."""
    return label.split(" (")[0] if option == "kind" else option


def natural_prompts(path: Path = NATURAL_PROMPTS) -> list[dict[str, str]]:
    """The hand-written prompts, each with the colour, kind and surface (or none) a person expects to see."""
    from generation import productshots

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # labels are the renderer's names: a typo here would score as a miss
        assert row["colour"] in productshots.COLOURS and row["kind"] in productshots.KINDS, row
        assert row["surface"] in ("", *productshots.SURFACES), row
    return rows


def scenes_sheet(tiles: dict, surfaces: list[str], title: str):
    """Rows: the kept products (the demo photo last); columns: the surfaces asked for."""
    from PIL import Image, ImageDraw

    labels = list(dict.fromkeys(label for label, _ in tiles))
    tile, left, top = 160, 150, 40
    sheet = Image.new("RGB", (left + tile * len(surfaces), top + tile * len(labels)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title, fill="black")
    for c, surface in enumerate(surfaces):
        draw.text((left + c * tile + 6, top - 16), surface, fill="black")
    for r, label in enumerate(labels):
        draw.text((6, top + r * tile + tile // 2 - 6), label, fill="black")
        for c, surface in enumerate(surfaces):
            if (label, surface) in tiles:
                sheet.paste(tiles[label, surface], (left + c * tile, top + r * tile))
    return sheet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--guidance", default="1.0,7.5")
    parser.add_argument("--steps", default="30")
    parser.add_argument("--full", action="store_true", help="guidance 1.0, 4.0, 7.5, 12.0 at 30 steps, and steps 15, 50 at 7.5")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, help="Write a contact sheet per setting into this folder, and print what each image was read as.")
    parser.add_argument("--parts", default="grammar,natural,scene",
                        help="grammar (the captions' grammar), natural (hand-written prompts), scene (surfaces around kept products)")
    parser.add_argument("--prompts", type=Path, default=NATURAL_PROMPTS,
                        help="The natural part's prompts (CSV: prompt,colour,kind,surface); bench/data/ also has "
                             "natural_prompts_heldout.csv (written after the everyday phrasings, never trained on) and "
                             "readme_prompts.csv (the README's and smoke_test's examples)")
    parser.add_argument("--seen", type=Path, default=None,
                        help="A person's reading of the natural part's images (CSV: model,prompt,seed,size,steps,guidance,kind_seen; "
                             "'none' where no product can be told), to check the kind reader against: "
                             "bench/data/natural_prompts_seen_v5.csv holds v5's at 512x512, 30 steps, guidance 7.5, 8 seeds")
    parser.add_argument("--real", action="store_true", help="Scenes around the real photographs' products too "
                        "(bench/real_masks: their true masks; apt-get install opencv-doc)")
    parser.add_argument("--inpaint", default="default",
                        help="Scenes with each of these inpainting UNets, side by side (comma-separated): default (the "
                             "configured one, on the embedded model its own), none (the model's own UNet), or a folder")
    parser.add_argument("--scene-negative", default="", help="A negative prompt for the scenes; 'kind' gives each scene its "
                        "product's kind (e.g. 'sneaker'): the model is steered away from drawing another")
    parser.add_argument("--placement", default="", help="The scenes' product anchor and y, e.g. centre:0.55 (how scenes "
                        "were placed before the anchor) or base:0.8 (the default: each product stands at 0.8 of the height)")
    args = parser.parse_args()
    import django

    django.setup()
    import torch
    from PIL import Image

    from generation import productshots
    from generation import modelinfo, modes
    from generation import parameters as P
    from generation.inference import pipelines, runner

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.full:
        settings = [(30, g) for g in (1.0, 4.0, 7.5, 12.0)] + [(15, 7.5), (50, 7.5)]
    else:
        settings = [(int(s), float(g)) for s in args.steps.split(",") for g in args.guidance.split(",")]
    config = modelinfo.inference_config()
    loaded = pipelines.get_pipelines(config)
    inpaints = [item.strip() for item in args.inpaint.split(",") if item.strip()]
    settings = [(steps, guidance, inpaint) for inpaint in inpaints for steps, guidance in settings]
    templates = kind_templates()
    kinds, colours, surfaces = list(productshots.KINDS), list(productshots.COLOURS), list(productshots.SURFACES)
    # The colour test on the brief's gray background; the surface test with colours that stand out on every surface.
    cases = []
    for i, colour in enumerate(colours):
        for seed in range(args.seeds):
            kind = kinds[(i + seed) % len(kinds)]
            cases.append(["colour", colour, kind, "gray", seed])
    for i, surface in enumerate(surfaces):
        for seed in range(args.seeds):
            kind = kinds[(i + seed) % len(kinds)]
            colour = ("red", "blue", "green", "orange")[(i + seed) % 4] if surface != "blue" else "red"
            cases.append(["surface", colour, kind, surface, seed])
    phrases = {s: productshots.SURFACES[s][0][0] for s in surfaces}
    for case in cases:
        case.append(f"product shot of {case[1]} {productshots.KINDS[case[2]][0]} on a {phrases[case[3]]}, studio lighting")
    parts = set(args.parts.split(","))
    if "grammar" not in parts:
        cases = []
    if "natural" in parts:
        cases += [["natural", row["colour"], row["kind"], row["surface"], seed, row["prompt"]]
                  for row in natural_prompts(args.prompts) for seed in range(args.seeds)]
    scene_cases = []
    if "scene" in parts:
        for label, colour, photo, photo_mask in scene_sources(args.size, args.seeds, args.real):
            for surface in surfaces:
                for seed in range(args.seeds):
                    kind_word = label.split(" (")[0]
                    scene_cases.append([label, colour, surface, seed, photo, photo_mask,
                                        f"{colour} {kind_word} on a {phrases[surface]}" if colour
                                        else f"{kind_word} on a {phrases[surface]}"])
    seen = {}
    if args.seen:
        with args.seen.open(newline="", encoding="utf-8") as handle:
            seen = {(row["prompt"], int(row["seed"]), int(row["size"]), int(row["steps"]), float(row["guidance"])): row["kind_seen"]
                    for row in csv.DictReader(handle) if row["model"] == loaded.model_label}
    print(f"model {loaded.model_label} on {loaded.device}, {args.size}x{args.size}, euler_a, {args.seeds} seeds per item"
          + (f"; natural prompts from {args.prompts.name}" if "natural" in parts else ""), flush=True)
    summary = []
    all_cases = cases
    for steps, guidance, inpaint in settings:
        started = time.perf_counter()
        # scenes with this inpainting UNet (the prompt-only parts once, with the first)
        cases = all_cases if inpaint == inpaints[0] else []
        loaded.config = dataclasses.replace(config, inpaint_model=config.inpaint_model if inpaint == "default" else inpaint)
        loaded._views.clear()
        unet_name = loaded.config.inpaint_label or "the model's own UNet"
        hits: dict[tuple[str, str], list[bool]] = {}
        agree: list[bool] = []  # the kind reader against a person's reading (--seen)
        details = []
        sheet = []
        for start in range(0, len(cases), args.batch):
            chunk = cases[start:start + args.batch]
            specs = [runner.JobSpec(prompt=prompt, seed=1000 + seed, num_inference_steps=steps, guidance_scale=guidance,
                                    width=args.size, height=args.size) for *_, seed, prompt in chunk]
            for case, result in zip(chunk, runner.run_batch(specs, loaded)):
                test, colour, kind, surface, _, _ = case
                a = np.asarray(result.image.convert("RGB").resize((128, 128), Image.Resampling.BOX))
                mask = product_mask(a)
                details.append(detail(a))
                if test == "colour":
                    hits.setdefault(("colour", colour), []).append(classify_colour(a, mask, productshots.COLOURS) == colour)
                    hits.setdefault(("kind", kind), []).append(classify_kind(mask, templates) == kind)
                    hits.setdefault(("background", colour), []).append(classify_surface(a) == surface)
                elif test == "surface":
                    hits.setdefault(("surface", surface), []).append(classify_surface(a) == surface)
                else:  # a hand-written prompt: its colour, kind and (where it names one) surface
                    drawn = (classify_colour(a, mask, productshots.COLOURS), classify_kind(mask, templates), classify_surface(a))
                    hits.setdefault(("natural colour", colour), []).append(drawn[0] == colour)
                    hits.setdefault(("natural kind", kind), []).append(drawn[1] == kind)
                    if surface:
                        hits.setdefault(("natural surface", surface), []).append(drawn[2] == surface)
                    if (case[-1], case[4], args.size, steps, guidance) in seen:
                        person = seen[case[-1], case[4], args.size, steps, guidance]
                        agree.append(drawn[1] == person if person != "none" else drawn[1] != kind)
                        hits.setdefault(("natural kind seen", kind), []).append(person == kind)
                    if args.save:
                        print(f"    {case[-1]!r} seed {case[4]}: colour {drawn[0]}, kind {drawn[1]}, surface {drawn[2]}")
                sheet.append(result.image.resize((96, 96)))
        scene_defaults = {name: P.BY_NAME[name].default for name in modes.get("scene").parameters}
        first_seed = {}  # (label, surface) -> the first seed's scene, for the products x surfaces sheet
        for start in range(0, len(scene_cases), args.batch):
            chunk = scene_cases[start:start + args.batch]
            specs = [runner.JobSpec(mode="scene", prompt=prompt, seed=1000 + seed, num_inference_steps=steps, guidance_scale=guidance,
                                    width=args.size, height=args.size, source_image=photo, mask_image=photo_mask,
                                    **{**scene_defaults, **placement(args.placement),
                                       "negative_prompt": scene_negative(args.scene_negative, label)})
                     for label, _, _, seed, photo, photo_mask, prompt in chunk]
            for case, result in zip(chunk, runner.run_batch(specs, loaded)):
                label, colour, surface = case[:3]
                a = np.asarray(result.image.convert("RGB").resize((128, 128), Image.Resampling.BOX))
                placed = np.asarray(result.prepared.state.mask.convert("L").resize((128, 128), Image.Resampling.BOX)) >= 128
                details.append(detail(a))
                hits.setdefault(("scene surface", surface), []).append(classify_surface(a) == surface)
                hits.setdefault(("scene ghost", label), []).append(ghost(a, placed))
                if args.save:
                    print(f"    {label} on {surface}: surface {classify_surface(a)}, ghost {ghost(a, placed)}")
                sheet.append(result.image.resize((96, 96)))
                first_seed.setdefault((label, surface), result.image.resize((160, 160), Image.Resampling.LANCZOS))
        seconds = time.perf_counter() - started
        print(f"\nsteps {steps}, guidance {guidance:g}, scenes inpainted by {unet_name}  ({len(cases) + len(scene_cases)} "
              f"images, {seconds:.0f} s)")
        # colour, background (the gray of those same images) and kind: the colour test; surface: six surfaces.
        row = [steps, guidance, unet_name if scene_cases else "-"]
        for test in TESTS:
            rows = [(name, v) for (t, name), v in hits.items() if t == test]
            total = sum(sum(v) for _, v in rows) / sum(len(v) for _, v in rows) if rows else float("nan")
            row.append(total)
            print(f"  {test:15s} {total:6.1%}  " + "  ".join(f"{name} {sum(v)}/{len(v)}" for name, v in rows))
        if agree:
            person = [v for (t, _), vs in hits.items() if t == "natural kind seen" for v in vs]
            print(f"  natural kind as a person reads it ({args.seen.name}): {sum(person) / len(person):.1%}; the kind "
                  f"reader agrees with that person on {sum(agree)} of {len(agree)} images")
        row.append(float(np.median(details)))
        print(f"  detail   {row[-1]:.2f} (median of {len(details)})")
        summary.append(row)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            columns = args.seeds
            grid = Image.new("RGB", (96 * columns, 96 * ((len(sheet) + columns - 1) // columns)), "white")
            for n, image in enumerate(sheet):
                grid.paste(image, ((n % columns) * 96, (n // columns) * 96))
            suffix = "" if inpaint == "default" else "-inpaint-" + Path(inpaint).name
            grid.save(args.save / f"adherence-steps{steps}-g{guidance:g}{suffix}.png")
            if first_seed:
                scenes_sheet(first_seed, surfaces, f"{unet_name}, {steps} steps, guidance {guidance:g}, first seed").save(
                    args.save / f"scenes-steps{steps}-g{guidance:g}{suffix}.png")
    print("\n| steps | guidance | scenes inpainted by | " + " | ".join(TESTS) + " | detail |\n| --: | --: | --- | "
          + "--: | " * len(TESTS) + "--: |")
    for steps, guidance, unet_name, *shares, sharpness in summary:
        print(f"| {steps} | {guidance:g} | {unet_name} | " + " | ".join("-" if v != v else f"{v:.1%}" for v in shares)
              + f" | {sharpness:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
