"""Objective aids beside the rubric: re-run identity and img2img fidelity to the source photo."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Below this SSIM (or above this pHash distance) an img2img output has likely drifted from the product.
DRIFT_SSIM_BELOW = 0.35
DRIFT_PHASH_ABOVE = 20


@dataclass(frozen=True)
class PixelComparison:
    identical: bool
    max_diff: int
    psnr: float | None  # None when identical (infinite)


def pixel_difference(a: Image.Image, b: Image.Image) -> np.ndarray | None:
    """|a - b| per pixel and RGB channel (int16), or None when the sizes differ."""
    x = np.asarray(a.convert("RGB"), dtype=np.int16)
    y = np.asarray(b.convert("RGB"), dtype=np.int16)
    return np.abs(x - y) if x.shape == y.shape else None


def compare_pixels(a: Image.Image, b: Image.Image) -> PixelComparison:
    diff = pixel_difference(a, b)
    if diff is None:
        return PixelComparison(identical=False, max_diff=255, psnr=0.0)
    max_diff = int(diff.max())
    if max_diff == 0:
        return PixelComparison(identical=True, max_diff=0, psnr=None)
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    return PixelComparison(identical=False, max_diff=max_diff, psnr=round(10 * math.log10(255.0**2 / mse), 3))


# CIEDE2000 is scaled so that 1.0 is a just-noticeable difference (its grades in words: generation.observations).
DELTA_E_SIZE = 256  # compared at the size a person looks at side by side (fine noise averages out)


def colour_difference(a: Image.Image, b: Image.Image) -> float | None:
    """Mean CIEDE2000 difference between two images of the same size (at 256 px), or None when sizes differ.

    0 for identical images, 100 between black and white; a pixel-count threshold would call a
    change of every tone by a few levels "unchanged", however visible it is.
    """
    if a.size != b.size:
        return None
    from skimage.color import deltaE_ciede2000, rgb2lab

    def lab(image: Image.Image) -> np.ndarray:
        small = image.convert("RGB").resize((DELTA_E_SIZE, DELTA_E_SIZE), Image.Resampling.BOX) if max(image.size) > DELTA_E_SIZE else image.convert("RGB")
        return rgb2lab(np.asarray(small, dtype=np.float64) / 255.0)

    return round(float(deltaE_ciede2000(lab(a), lab(b)).mean()), 2)


def fidelity(source: Image.Image, output: Image.Image) -> tuple[float, int]:
    """(SSIM on luminance, pHash Hamming distance) between the source photo and the output at the same size."""
    import imagehash
    from skimage.metrics import structural_similarity

    if source.size != output.size:
        source = source.resize(output.size, Image.Resampling.LANCZOS)
    a = np.asarray(source.convert("L"), dtype=np.float64)
    b = np.asarray(output.convert("L"), dtype=np.float64)
    ssim = float(structural_similarity(a, b, data_range=255.0))
    distance = int(imagehash.phash(source) - imagehash.phash(output))
    return round(ssim, 4), distance


def has_drifted(ssim: float | None, phash_distance: int | None) -> bool:
    if ssim is None or phash_distance is None:
        return False
    return ssim < DRIFT_SSIM_BELOW or phash_distance > DRIFT_PHASH_ABOVE
