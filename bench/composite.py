"""Do scene composites look photographed? Halo, old background along the edge, shadows, exact interior.

The composite step (generation.scene.place + composite) is run on real photographs with their true masks
(bench/real_masks, as bench/masks.py) and on rendered packshots (generation.productshots, whose shots stand on
a soft shadow), over a flat dark scene (20 grey) and a flat light one (235): on a flat scene anything that is not
flat around the product is the composite's doing. Both edge treatments are measured side by side: ``feather``
(SD Studio's first composite, kept for the re-runs of old jobs) and ``matte`` (the default).

- halo: mean grey 4-8 px outside the product's true edge minus 24-40 px outside (bench/edgecheck.py);
- old colour: share of the edge band whose colour is nearer the photo's old background than any mix of product
  and new scene (bench/edgecheck.py);
- interior exact: every pixel where the matte is 255 (feather: the mask) is the placed photo's, bit for bit;
- shadow: how much darker the light scene is just under the product's base than the scene (contact, keep, none).

    .venv/bin/python bench/composite.py            # needs opencv-doc for four of the real photos
    .venv/bin/python bench/composite.py --pipeline  # also scenes through the embedded model (halo of the latent blend)

``--pipeline`` runs real scene jobs' inference (the runner, the embedded model, 256 px, 8 steps) with a prompt for
a dark studio, once repainting what SD Studio repainted before (everything but the mask) and once what it repaints
now (the solid interior shrunk by two latent cells), and prints the halo of each on the same seeds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdstudio.settings")

SIZE = 512
PACKSHOTS = (("mug", "red", "white"), ("bottle", "blue", "wood"), ("headphones", "black", "gray"), ("sneaker", "white", "black"))


def inputs():
    """(name, photo, true mask): the real photographs, then rendered packshots."""
    from masks import real_photos

    from generation import productshots

    yield from real_photos()
    for kind, colour, surface in PACKSHOTS:
        if kind not in productshots.KINDS or surface not in productshots.SURFACES:
            continue
        shot = productshots.render(kind, colour, surface, seed=1, size=384, caption=False)
        yield f"{colour} {kind}", shot.image, shot.mask


def shadow_darkening(out: np.ndarray, placed, scene_grey: float) -> float:
    """1 - (mean grey just under the product's base, outside what the matte covers) / the scene's grey."""
    left, top, right, bottom = placed.box
    height = bottom - top
    alpha = np.asarray(placed.mask)
    grey = out.mean(axis=-1)
    rows = slice(bottom, min(out.shape[0], bottom + max(2, height // 20)))
    cols = slice(left + (right - left) // 4, right - (right - left) // 4)
    region = grey[rows, cols][alpha[rows, cols] == 0]
    return float(1.0 - region.mean() / scene_grey) if region.size else float("nan")


def composite_table() -> None:
    import edgecheck

    from sdstudio import matting

    print(f"composite step on flat scenes, {SIZE} px canvas, product size 0.7; true masks")
    print(f"{'photo':<16} {'edges':<11} {'halo dark':>9} {'halo light':>10} {'old dark':>9} {'old light':>9} {'exact':>6} {'s':>6}")
    worst: dict[str, dict[str, float]] = {}
    for name, photo, truth in inputs():
        mattes = {"feather": lambda: truth, "matte": lambda: matting.matte(photo, truth)}
        if name == "plant":  # alphamat's ground-truth matte: the best any matte could do by these measures
            mattes["true matte"] = lambda: true_matte()
        for edges, make in mattes.items():
            started = time.perf_counter()
            scores = edgecheck.composite_scores(photo, truth, make(), "feather" if edges == "feather" else "matte")
            seconds = (time.perf_counter() - started) / len(edgecheck.SCENES)
            print(f"{name:<16} {edges:<11} {scores['halo dark']:>9.1f} {scores['halo light']:>10.1f} {scores['old dark']:>9.1%} "
                  f"{scores['old light']:>9.1%} {'yes' if scores['exact'] else 'NO':>6} {seconds:>6.2f}")
            if edges != "true matte":
                row = worst.setdefault(edges, {"halo": 0.0, "old": 0.0, "exact": 1.0})
                row["halo"] = max(row["halo"], abs(scores["halo dark"]), abs(scores["halo light"]))
                row["old"] = max(row["old"], scores["old dark"], scores["old light"])
                row["exact"] = min(row["exact"], scores["exact"])
    for edges, row in worst.items():
        print(f"{'worst':<16} {edges:<11} {row['halo']:>9.1f} {'(|halo|)':>10} {row['old']:>9.1%} {'':>9} "
              f"{'yes' if row['exact'] else 'NO':>6}")


def true_matte():
    from masks import OPENCV_DOC
    from PIL import Image

    return Image.open(OPENCV_DOC / "alphamat/output_mattes/plant_result.png").convert("L")


def shadow_table() -> None:
    from PIL import Image

    from generation import scene
    from sdstudio import matting

    print("\nshadow: darkening of the light scene (235) just under the product's base")
    print(f"{'photo':<16} {'contact':>8} {'keep':>8} {'none':>8} {'interior exact':>15}")
    worst = {"contact": 1.0, "keep": 1.0, "none": 0.0}
    for name, photo, truth in inputs():
        job_mask = matting.matte(photo, truth)
        row, exact = [], True
        for shadow in ("contact", "keep", "none"):
            placed = scene.place(photo, job_mask, (SIZE, SIZE), scale=0.6, x=0.5, y=0.5, shadow=shadow)
            out = np.asarray(scene.composite(Image.new("RGB", (SIZE, SIZE), (235,) * 3), placed), dtype=np.float64)
            keep = np.asarray(placed.mask) == 255
            exact &= bool((out[keep] == np.asarray(placed.canvas, dtype=np.float64)[keep]).all())
            darkening = shadow_darkening(out, placed, 235.0)
            row.append(darkening)
            worst[shadow] = min(worst[shadow], darkening) if shadow != "none" else max(worst[shadow], abs(darkening))
        print(f"{name:<16} {row[0]:>8.1%} {row[1]:>8.1%} {row[2]:>8.1%} {'yes' if exact else 'NO':>15}")
    print(f"{'least / most':<16} {worst['contact']:>8.1%} {worst['keep']:>8.1%} {worst['none']:>8.1%}   "
          "(keep follows the photo: a photo with no shadow under its product has none to carry)")


def pipeline_table(seeds: int) -> None:
    """Scenes through the embedded model: the halo of the latent blend, before (mask only) and now (shrunk)."""
    import django

    django.setup()
    import edgecheck
    from PIL import ImageOps

    from generation import modelinfo, scene
    from generation.inference import pipelines, runner
    from sdstudio import matting

    pipelines.configure_threads(max(1, os.cpu_count() or 2))
    loaded = pipelines.get_pipelines(modelinfo.inference_config())
    print(f"\nscenes through the embedded model, 256 px, 8 steps, {seeds} seeds per photo: halo (grey levels) of the output")
    print(f"{'photo':<16} {'repaint before':>15} {'repaint now':>12}")
    original = scene.repaint_mask
    for name, photo, truth in inputs():
        job_mask = matting.matte(photo, truth)
        halos = {"before": [], "now": []}
        for variant in halos:
            scene.repaint_mask = (lambda placed: ImageOps.invert(placed.mask.point(lambda v: 255 if v >= 128 else 0))) \
                if variant == "before" else original
            for seed in range(seeds):
                spec = runner.JobSpec(mode="scene", prompt="product on a plain black background, dark studio", seed=seed,
                                      num_inference_steps=8, width=256, height=256, product_scale=0.6, product_x=0.5,
                                      product_y=0.5, edges="matte", shadow="none", source_image=photo, mask_image=job_mask)
                result = runner.run(spec, loaded)
                out = np.asarray(result.image, dtype=np.float64).mean(axis=-1)
                halos[variant].append(edgecheck.halo(out, np.asarray(result.prepared.state.mask) >= 128))
        scene.repaint_mask = original
        print(f"{name:<16} {np.mean(halos['before']):>15.1f} {np.mean(halos['now']):>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", action="store_true", help="also scenes through the embedded model")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    composite_table()
    shadow_table()
    if args.pipeline:
        pipeline_table(args.seeds)


if __name__ == "__main__":
    main()
