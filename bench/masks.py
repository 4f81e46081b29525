"""How good is the automatic product mask? IoU against the true mask of rendered packshots, per background.

Renders every kind x colour x surface of SD Studio's product-shot grammar
(generation/productshots.py), skipping a product shot on its own colour, plus
each product on a strong studio gradient, and compares catalog.masks.automatic
with the exact mask the renderer drew. Prints IoU per background (mean, worst,
share >= 0.9) and the seconds per photo.

    .venv/bin/python bench/masks.py                 # 256 px, one seed per combination
    .venv/bin/python bench/masks.py --size 512 --seeds 2
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdstudio.settings")

SAME_COLOUR = {("white", "white"), ("white", "marble"), ("black", "black"), ("blue", "blue")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    import django

    django.setup()
    from PIL import Image

    from catalog import masks
    from generation import productshots

    scores: dict[str, list[float]] = {}
    worst: dict[str, tuple[float, str]] = {}
    seconds = []
    for kind in productshots.KINDS:
        for colour in productshots.COLOURS:
            for surface in [*productshots.SURFACES, "gradient"]:
                if (colour, surface) in SAME_COLOUR:
                    continue
                for seed in range(args.seeds):
                    shot = productshots.render(kind, colour, "white" if surface == "gradient" else surface, seed=seed,
                                               size=args.size, caption=False)
                    image = shot.image
                    if surface == "gradient":
                        t = np.linspace(0.0, 1.0, args.size)[:, None, None]
                        rows = np.array((70, 80, 110)) * (1 - t) + np.array((235, 230, 220)) * t
                        image = Image.fromarray(np.broadcast_to(rows, (args.size, args.size, 3)).astype(np.uint8), "RGB")
                        image.paste(shot.image, (0, 0), shot.mask)
                    started = time.perf_counter()
                    found = masks.automatic(image)
                    seconds.append(time.perf_counter() - started)
                    score = masks.iou(found, shot.mask)
                    scores.setdefault(surface, []).append(score)
                    if score < worst.get(surface, (2.0, ""))[0]:
                        worst[surface] = (score, f"{colour} {kind}")
    print(f"automatic mask vs the renderer's mask, {args.size} px, {sum(map(len, scores.values()))} packshots")
    print(f"{'background':<10} {'n':>4} {'mean IoU':>9} {'>= 0.9':>7}  worst")
    for surface, values in scores.items():
        share = sum(v >= 0.9 for v in values) / len(values)
        print(f"{surface:<10} {len(values):>4} {np.mean(values):>9.3f} {share:>7.1%}  {worst[surface][0]:.3f} ({worst[surface][1]})")
    every = [v for values in scores.values() for v in values]
    print(f"{'all':<10} {len(every):>4} {np.mean(every):>9.3f} {sum(v >= 0.9 for v in every) / len(every):>7.1%}")
    print(f"seconds per photo: median {np.median(seconds):.3f}")


if __name__ == "__main__":
    main()
