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
photo on each side), with the seconds each took. Then clicks after the box, placed where a person would click
(interactive segmentation's usual protocol): the IoU after 3 and after up to 10 clicks, the clicks needed to reach
0.90 and 0.95 (NoC), the editor's session against a click that refines the last answer with one point. Then the soft edges (sdstudio.matting): the matte's error
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


MAX_CLICKS = 10


def next_click(found: np.ndarray, truth: np.ndarray) -> tuple[tuple[int, int], bool]:
    """Where a person clicks next, as interactive segmentation is benchmarked (Xu et al. 2016, NoC): in the larger of
    the missed or wrongly kept regions, at its point farthest from that region's edge; (point, on the product?)."""
    import cv2

    best = (-1.0, (0, 0), True)
    for region, on_product in ((truth & ~found, True), (found & ~truth, False)):
        distance = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        if distance.max() > best[0]:
            y, x = np.unravel_index(distance.argmax(), distance.shape)
            best = (float(distance.max()), (int(x), int(y)), on_product)
    return best[1], best[2]


def clicks(photo, truth, session: bool) -> tuple[list[float], list[float]]:
    """IoU after the box and after each click (up to MAX_CLICKS, until 0.95), and the seconds each click took.
    ``session``: the editor sends the box and every point with the point just clicked (catalog.masks.from_hints'
    ``focus``); otherwise each click refines the last answer with that one point (the editor before)."""
    from catalog import masks

    true = np.asarray(truth.convert("L")) >= 128
    box = box_around(truth)
    found = masks.from_hints(photo, box=box)
    ious, seconds, add, remove = [masks.iou(found, truth)], [], [], []
    while ious[-1] < 0.95 and len(ious) <= MAX_CLICKS:
        point, on_product = next_click(np.asarray(found) >= 128, true)
        (add if on_product else remove).append(point)
        started = time.perf_counter()
        if session:
            found = masks.from_hints(photo, box=box, add=add, remove=remove, start=found, focus=point)
        else:
            found = masks.from_hints(photo, add=[point] if on_product else [], remove=[] if on_product else [point], start=found)
        seconds.append(time.perf_counter() - started)
        ious.append(masks.iou(found, truth))
    return ious, seconds


def clicks_table() -> None:
    def needed(ious, target):
        return next((str(i) for i, v in enumerate(ious) if v >= target), f">{MAX_CLICKS}")

    print(f"\nbox, then clicks where a person would click (the larger error region's centre), up to {MAX_CLICKS}: the "
          "editor's session (box and every point, the mask changes near the click) against one point refining the last answer")
    print(f"{'photo':<10} {'box':>6} | {'session: 3 clicks':>17} {'10':>6} {'NoC90':>6} {'NoC95':>6} {'s/click':>7} | "
          f"{'one point: 3 clicks':>19} {'10':>6} {'NoC90':>6} {'NoC95':>6}")
    totals = {True: [], False: []}
    for name, photo, truth in real_photos():
        row = {}
        for session in (True, False):
            ious, seconds = clicks(photo, truth, session)
            row[session] = (ious, seconds)
            totals[session].append(ious[min(3, len(ious) - 1)])
        (s_ious, s_seconds), (o_ious, _) = row[True], row[False]
        print(f"{name:<10} {s_ious[0]:>6.3f} | {s_ious[min(3, len(s_ious) - 1)]:>17.3f} {s_ious[-1]:>6.3f} {needed(s_ious, 0.90):>6} "
              f"{needed(s_ious, 0.95):>6} {max(s_seconds, default=0):>7.2f} | {o_ious[min(3, len(o_ious) - 1)]:>19.3f} "
              f"{o_ious[-1]:>6.3f} {needed(o_ious, 0.90):>6} {needed(o_ious, 0.95):>6}")
    print(f"{'mean':<10} {'':>6} | {np.mean(totals[True]):>17.3f} {'':>6} {'':>6} {'':>6} {'':>7} | {np.mean(totals[False]):>19.3f}"
          "   (after 3 clicks, or fewer where 0.95 came first; s/click: the slowest)")


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
        clicks_table()
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
        clicks_table()
        matte_table()


if __name__ == "__main__":
    main()
