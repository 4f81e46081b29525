"""Edge measures shared by bench/masks.py and bench/composite.py (numpy and OpenCV only).

- ``old_colour_share``: of the pixels along the product's edge in a composite over a new scene, the share (weighted
  by how much of the product they show) whose colour is nearer the photo's old background there than to any mix of
  the product's colour and the new scene's. References come from the true mask, so they do not depend on the matte
  being measured: the old background is the local mean of the photo just outside the true edge, the product's colour
  the local mean just inside it. Where the photo's frame cut the product (a notebook running off the photo) there is
  no old background to carry: those edges are left out.
- ``halo``: how much brighter (or darker) the new scene is right around the product than farther away, on a flat
  scene: mean grey 4-8 px outside the product's true edge minus 24-40 px outside, in grey levels (the distances at
  which a halo was first measured on SD Studio's scenes).
"""
from __future__ import annotations

import numpy as np

EDGE_BAND = 2  # px each side of the kept edge
REFERENCE_RING = (3, 10)  # px from the true edge where the references are read


def _ring(mask: np.ndarray, inner: int, outer: int, outside: bool) -> np.ndarray:
    import cv2

    region = mask if not outside else ~mask
    distance = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    return (distance > inner) & (distance <= outer)


def _local_mean(values: np.ndarray, where: np.ndarray, sigma: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``values`` over ``where`` around each pixel, and how much of ``where`` there is around it."""
    import cv2

    weight = where.astype(np.float64)
    total = cv2.GaussianBlur(values * weight[..., None], (0, 0), sigma)
    around = cv2.GaussianBlur(weight, (0, 0), sigma)
    return total / np.maximum(around, 1e-6)[..., None], around


def _segment_distance(colour: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    direction = end - start
    t = np.clip(((colour - start) * direction).sum(-1) / np.maximum((direction * direction).sum(-1), 1e-9), 0.0, 1.0)
    return np.linalg.norm(colour - (start + t[..., None] * direction), axis=-1)


def old_colour_share(photo: np.ndarray, truth: np.ndarray, composite: np.ndarray, alpha: np.ndarray, scene: np.ndarray,
                     inside_photo: np.ndarray | None = None) -> float:
    """``photo``/``composite``/``scene`` H x W x 3 floats (0-255), ``truth`` bool, ``alpha`` 0-1 (what was kept);
    ``inside_photo`` (bool): where the canvas shows the photo itself, not beyond its frame (default: everywhere)."""
    import cv2

    inside_photo = np.ones(truth.shape, bool) if inside_photo is None else inside_photo
    outer_ring = _ring(truth, *REFERENCE_RING, outside=True)
    old, seen = _local_mean(photo, outer_ring & inside_photo)
    _, ring_around = _local_mean(photo, outer_ring)
    product, _ = _local_mean(photo, _ring(truth, *REFERENCE_RING, outside=False))
    kept = alpha >= 0.5
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_BAND + 1,) * 2)
    band = (cv2.dilate(kept.astype(np.uint8), k).astype(bool) & ~cv2.erode(kept.astype(np.uint8), k).astype(bool)) & (alpha > 0)
    band &= seen >= 0.5 * ring_around  # an edge the frame cut has no old background beside it
    if not band.any():
        return 0.0
    to_old = np.linalg.norm(composite - old, axis=-1)
    to_mix = _segment_distance(composite, product, scene)
    carries = (to_old < to_mix) & band
    return float((alpha * carries).sum() / alpha[band].sum())


def halo(composite_grey: np.ndarray, product: np.ndarray) -> float:
    """Mean grey 4-8 px outside ``product`` minus 24-40 px outside (0 on a flat scene with a clean edge)."""
    near, far = _ring(product, 3, 8, outside=True), _ring(product, 24, 40, outside=True)
    return float(composite_grey[near].mean() - composite_grey[far].mean())


SCENES = {"dark": 20, "light": 235}  # flat scenes: anything not flat around the product is the composite's doing
CANVAS = 512


def composite_scores(photo, truth, job_mask, edges: str, *, scale: float = 0.7) -> dict[str, float]:
    """The composite step (generation.scene) of ``photo`` through ``job_mask`` over each flat scene, measured against
    the true mask: {"halo dark", "halo light", "old dark", "old light", "exact"}."""
    from PIL import Image

    from generation import scene

    truth_mask = np.asarray(truth.convert("L")) >= 128
    reference = scene.place(photo, truth, (CANVAS, CANVAS), scale=scale, x=0.5, y=0.5, edges="feather")
    placed_photo, inside_photo = _placed_photo(np.asarray(photo.convert("RGB"), dtype=np.float64), truth_mask, reference.box)
    placed_truth = np.asarray(reference.mask) >= 128
    scores: dict[str, float] = {"exact": 1.0}
    for name, grey in SCENES.items():
        placed = scene.place(photo, job_mask, (CANVAS, CANVAS), scale=scale, x=0.5, y=0.5, edges=edges, shadow="none")
        out = np.asarray(scene.composite(Image.new("RGB", (CANVAS, CANVAS), (grey,) * 3), placed), dtype=np.float64)
        mask = np.asarray(placed.mask)
        weight = mask / 255.0 if edges != "feather" else (mask >= 128).astype(np.float64)
        scores[f"halo {name}"] = halo(out.mean(axis=-1), placed_truth)
        scores[f"old {name}"] = old_colour_share(placed_photo, placed_truth, out, weight, np.full_like(out, float(grey)), inside_photo)
        keep = mask == 255 if edges != "feather" else mask >= 128
        if not (out[keep] == np.asarray(placed.canvas, dtype=np.float64)[keep]).all():
            scores["exact"] = 0.0
    return scores


def _placed_photo(photo_rgb: np.ndarray, truth: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """The photo itself (product and old background) carried onto the canvas as ``place`` carried its product, and
    where on the canvas that is the photo (not beyond its frame)."""
    import cv2

    ys, xs = np.nonzero(truth)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    left, top, right, bottom = box
    sx, sy = (right - left) / (x1 - x0), (bottom - top) / (y1 - y0)
    matrix = np.array([[sx, 0.0, left - x0 * sx], [0.0, sy, top - y0 * sy]])
    placed = cv2.warpAffine(photo_rgb.astype(np.float32), matrix, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
    inside = cv2.warpAffine(np.ones(truth.shape, np.float32), matrix, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0) >= 0.5
    return placed, inside
