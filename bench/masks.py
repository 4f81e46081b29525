"""How good is the automatic product mask? IoU against the true mask of rendered packshots, per background.

Renders every kind x colour x surface of SD Studio's product-shot grammar
(generation/productshots.py), skipping a product shot on its own colour, plus
each product on a strong studio gradient, and compares catalog.masks.find_product
with the exact mask the renderer drew. Prints IoU per background (mean, worst,
share >= 0.9) and the seconds per photo.

    .venv/bin/python bench/masks.py                 # 256 px, one seed per combination
    .venv/bin/python bench/masks.py --size 512 --seeds 2
    .venv/bin/python bench/masks.py --real          # real photographs (bench/real_masks/README.md) too
    .venv/bin/python bench/masks.py --real-only     # the real photographs alone

On the real photographs: the automatic mask's IoU and whether it was flagged unsure (catalog.masks.confidence),
and the box-assisted IoU: GrabCut from the box a person would drag (the true mask's bounding box plus 4% of the
photo on each side), with the seconds each took. Then the soft edges (sdstudio.matting): the matte's error
(SAD and MSE, alpha in 0-1) against alphamat's ground-truth matte of its plant, and for every real photo the
share of the edge band that still carries the old background once composited over a flat dark and light scene
(bench/edgecheck.py), binary mask against matte, from the automatic mask and from the true one.
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

SAME_COLOUR = {("white", "white"), ("white", "marble"), ("black", "black"), ("blue", "blue")}
REAL = Path(__file__).resolve().parent / "real_masks"
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples")


def real_photos():
    """(name, photo, true mask) of the real set; photos from their packages, true masks from bench/real_masks."""
    from PIL import Image
    from skimage import data

    def opencv(relative: str):
        path = OPENCV_DOC / relative
        if not path.exists():
            raise SystemExit(f"{path} is missing: apt-get install opencv-doc")
        return Image.open(path).convert("RGB")

    yield "coffee", Image.fromarray(data.coffee()), Image.open(REAL / "coffee.png")
    for name, file in (("apple", "apple.jpg"), ("orange", "orange.jpg"), ("butterfly", "butterfly.jpg"),
                       ("notebook", "ela_original.jpg"), ("squirrel", "squirrel_cls.jpg")):
        yield name, opencv(f"data/{file}"), Image.open(REAL / f"{name}.png")
    matte = opencv("alphamat/output_mattes/plant_result.png").convert("L")
    yield "plant", opencv("alphamat/input_images/plant.jpg"), matte.point(lambda v: 255 if v >= 128 else 0)


def box_around(mask, margin: float = 0.04) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = mask.convert("L").point(lambda v: 255 if v >= 128 else 0).getbbox()
    dx, dy = round(mask.width * margin), round(mask.height * margin)
    return max(0, x0 - dx), max(0, y0 - dy), min(mask.width, x1 + dx), min(mask.height, y1 + dy)


def real_table() -> None:
    from catalog import masks

    print("\nreal photographs: automatic mask (flagged unsure below a confidence of "
          f"{masks.UNSURE_BELOW}) and box-assisted mask, IoU against the true mask")
    print(f"{'photo':<10} {'size':>9} {'auto IoU':>9} {'found by':>9} {'confidence':>10} {'unsure':>7} {'auto s':>7} {'box IoU':>8} {'box s':>6}")
    auto_scores, box_scores, flagged_or_good = [], [], []
    for name, photo, truth in real_photos():
        started = time.perf_counter()
        found, score, method = masks.find_product(photo)
        auto_seconds = time.perf_counter() - started
        auto_iou = masks.iou(found, truth)
        started = time.perf_counter()
        boxed = masks.from_hints(photo, box=box_around(truth))
        box_seconds = time.perf_counter() - started
        box_iou = masks.iou(boxed, truth)
        unsure = score < masks.UNSURE_BELOW
        auto_scores.append(auto_iou)
        box_scores.append(box_iou)
        flagged_or_good.append(unsure or auto_iou >= 0.8)
        print(f"{name:<10} {photo.width:>4}x{photo.height:<4} {auto_iou:>9.3f} {method:>9} {score:>10.2f} {'yes' if unsure else 'no':>7} "
              f"{auto_seconds:>7.2f} {box_iou:>8.3f} {box_seconds:>6.2f}")
    print(f"{'mean':<10} {'':>9} {np.mean(auto_scores):>9.3f} {'':>9} {'':>10} {sum(not ok for ok in flagged_or_good):>7} "
          f"{'':>7} {np.mean(box_scores):>8.3f}   (unsure column of the mean row: photos under 0.80 not flagged)")


def matte_table() -> None:
    import edgecheck
    from PIL import Image

    from catalog import masks
    from sdstudio import matting

    truth_matte = np.asarray(Image.open(OPENCV_DOC / "alphamat/output_mattes/plant_result.png").convert("L")) / 255.0
    photo = Image.open(OPENCV_DOC / "alphamat/input_images/plant.jpg").convert("RGB")
    print("\nmatte error against alphamat's ground truth (plant, alpha 0-1): SAD (sum of |error|) and MSE")
    print(f"{'from':<14} {'binary SAD':>10} {'binary MSE':>10} {'matte SAD':>10} {'matte MSE':>10} {'matte s':>8}")
    for label, mask in (("true mask", Image.fromarray(((truth_matte >= 0.5) * 255).astype(np.uint8))),
                        ("automatic", masks.find_product(photo)[0])):
        binary = (np.asarray(mask) >= 128).astype(np.float64)
        started = time.perf_counter()
        soft = np.asarray(matting.matte(photo, mask)) / 255.0
        seconds = time.perf_counter() - started
        print(f"{label:<14} {np.abs(binary - truth_matte).sum():>10.0f} {((binary - truth_matte) ** 2).mean():>10.4f} "
              f"{np.abs(soft - truth_matte).sum():>10.0f} {((soft - truth_matte) ** 2).mean():>10.4f} {seconds:>8.2f}")
    print("\nold background in the edge band, composited over flat scenes (dark / light), worst of the two")
    print(f"{'photo':<10} {'auto binary':>11} {'auto matte':>10} {'true binary':>11} {'true matte':>10}")
    worst = [0.0] * 4
    for name, photo, truth in real_photos():
        found = masks.find_product(photo)[0]
        row = []
        for mask in (found, truth):
            for edges in ("feather", "matte"):
                job_mask = matting.matte(photo, mask) if edges == "matte" else mask
                scores = edgecheck.composite_scores(photo, truth, job_mask, edges)
                row.append(max(scores["old dark"], scores["old light"]))
        worst = [max(w, r) for w, r in zip(worst, row)]
        print(f"{name:<10} {row[0]:>11.1%} {row[1]:>10.1%} {row[2]:>11.1%} {row[3]:>10.1%}")
    print(f"{'worst':<10} {worst[0]:>11.1%} {worst[1]:>10.1%} {worst[2]:>11.1%} {worst[3]:>10.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--real", action="store_true", help="the real photographs too")
    parser.add_argument("--real-only", action="store_true", help="the real photographs alone (no rendered packshots)")
    args = parser.parse_args()
    import django

    django.setup()
    from PIL import Image

    from catalog import masks
    from generation import productshots

    if args.real_only:
        real_table()
        matte_table()
        return
    scores: dict[str, list[float]] = {}
    worst: dict[str, tuple[float, str]] = {}
    seconds, unsure = [], {}
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
                    found, confidence, _ = masks.find_product(image)
                    seconds.append(time.perf_counter() - started)
                    unsure[surface] = unsure.get(surface, 0) + (confidence < masks.UNSURE_BELOW)
                    score = masks.iou(found, shot.mask)
                    scores.setdefault(surface, []).append(score)
                    if score < worst.get(surface, (2.0, ""))[0]:
                        worst[surface] = (score, f"{colour} {kind}")
    print(f"automatic mask vs the renderer's mask, {args.size} px, {sum(map(len, scores.values()))} packshots")
    print(f"{'background':<10} {'n':>4} {'mean IoU':>9} {'>= 0.9':>7} {'unsure':>7}  worst")
    for surface, values in scores.items():
        share = sum(v >= 0.9 for v in values) / len(values)
        print(f"{surface:<10} {len(values):>4} {np.mean(values):>9.3f} {share:>7.1%} {unsure[surface]:>7}  {worst[surface][0]:.3f} ({worst[surface][1]})")
    every = [v for values in scores.values() for v in values]
    print(f"{'all':<10} {len(every):>4} {np.mean(every):>9.3f} {sum(v >= 0.9 for v in every) / len(every):>7.1%} {sum(unsure.values()):>7}")
    print(f"seconds per photo: median {np.median(seconds):.3f}")
    if args.real:
        real_table()
        matte_table()


if __name__ == "__main__":
    main()
