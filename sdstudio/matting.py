"""Soft product edges: an 8-bit matte from a binary mask and its photo, and the product's own colours at that edge.

Pure (numpy, OpenCV, pymatting): catalog stores the matte with each scene job,
the scene composite uses it. A binary mask is right inside the product and outside it;
only a band around its edge is uncertain (a trimap). In that band the alpha is
the mask filtered with the photo as guide (He, Sun and Tang's guided filter,
the edge-aware smoothing used for matting refinement), so it follows the
photo's own edge, hair and half-covered pixels. A cut-out's alpha is its matte
as it is.

The colours in the band are a mix, ``I = a F + (1 - a) B``, of the product's
``F`` and the old background's ``B``: pymatting's foreground estimation solves
for ``F`` (smooth, and pulled towards the photo where the alpha is high).
Composited with its matte over a new scene, the edge then carries no old
background.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

BAND_FRACTION = 0.006  # half-width of the uncertain band: 3 px at 512, 6 px at 1000 (at least 2)
WINDOW_FRACTION = 0.008  # the guided filter's window radius: 4 px at 512
GUIDE_EPS = 1e-4  # the guided filter's regularisation (intensities in 0-1): lower follows the photo's edges more


def smooth_surface(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """A quadratic surface (per channel) fitted to ``values`` where ``where``: a backdrop as if nothing stood on it
    (it follows studio sweeps and gradients)."""
    h, w = where.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = x / w - 0.5, y / h - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1)
    coefficients, *_ = np.linalg.lstsq(basis[where], values[where], rcond=None)
    return basis @ coefficients


def band_radius(size: tuple[int, int]) -> int:
    return max(2, round(BAND_FRACTION * max(size)))


def _disc(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a colour guide (H x W x 3, 0-1): ``source`` smoothed along the guide's edges."""
    import cv2

    def mean(values):
        return cv2.boxFilter(values, cv2.CV_64F, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i = np.stack([mean(guide[..., c]) for c in range(3)], axis=-1)
    mean_p = mean(source)
    covariance = np.stack([mean(guide[..., c] * source) - mean_i[..., c] * mean_p for c in range(3)], axis=-1)
    variance = np.empty(guide.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(i, 3):
            variance[..., i, j] = variance[..., j, i] = mean(guide[..., i] * guide[..., j]) - mean_i[..., i] * mean_i[..., j]
    variance += eps * np.eye(3)
    a = np.linalg.solve(variance, covariance[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(axis=-1)
    return (np.stack([mean(a[..., c]) for c in range(3)], axis=-1) * guide).sum(axis=-1) + mean(b)


def alpha_of(image: Image.Image) -> np.ndarray | None:
    """A cut-out's alpha (0-255), or None when the image has no real transparency."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode not in ("RGBA", "LA", "PA"):
        return None
    alpha = np.asarray(image.getchannel("A"))
    return alpha if 0 < alpha.min() < 255 or (alpha.min() == 0 and alpha.max() > 0) else None


def matte(photo: Image.Image, mask: Image.Image, alpha: Image.Image | None = None) -> Image.Image:
    """The 8-bit matte (L) of ``mask`` (binary, 255 = product) on ``photo``: 255 inside, 0 outside, soft in the band.

    A cut-out's own alpha (``alpha``, or the photo's alpha channel) is its matte as it is; any other photo's band
    follows the guided filter. Deterministic: the same photo and mask always give the same matte.
    """
    import cv2

    own = np.asarray(alpha.convert("L")) if alpha is not None else alpha_of(photo)
    if own is not None:  # a cut-out: its alpha is its matte, however wide its soft edge
        return Image.fromarray(own.astype(np.uint8), "L")
    hard = np.asarray(mask.convert("L")) >= 128
    radius = band_radius(mask.size)
    kernel = _disc(radius)
    sure_product = cv2.erode(hard.astype(np.uint8), kernel).astype(bool)
    sure_scene = ~cv2.dilate(hard.astype(np.uint8), kernel).astype(bool)
    band = ~(sure_product | sure_scene)
    soft = _band_filter(np.asarray(photo.convert("RGB"), dtype=np.float64) / 255.0, hard, band, mask.size)
    alpha = np.where(sure_product, 1.0, np.where(sure_scene, 0.0, np.clip(soft, 0.0, 1.0)))
    alpha[band & (alpha > 0.98)] = 1.0
    alpha[band & (alpha < 0.02)] = 0.0
    return Image.fromarray(np.rint(alpha * 255).astype(np.uint8), "L")


def _band_filter(guide: np.ndarray, hard: np.ndarray, band: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The guided filter run only on the band's bounding box (plus its window): the rest of the matte is known."""
    window = max(2, round(WINDOW_FRACTION * max(size)))
    soft = hard.astype(np.float64)
    ys, xs = np.nonzero(band)
    if not len(ys):
        return soft
    top, left = max(0, ys.min() - 2 * window), max(0, xs.min() - 2 * window)
    bottom, right = ys.max() + 2 * window + 1, xs.max() + 2 * window + 1
    soft[top:bottom, left:right] = guided_filter(guide[top:bottom, left:right], soft[top:bottom, left:right], window, GUIDE_EPS)
    return soft


def foreground(photo: Image.Image, matte_image: Image.Image) -> Image.Image:
    """The product's own colours (RGB): the photo where the matte is 255; elsewhere the foreground colour ``F`` of
    ``I = a F + (1 - a) B`` estimated by pymatting's multi-level solver (Germer et al., "Fast Multi-Level Foreground
    Estimation"), smooth and free of the old background, so resampling and blending at the edge bring none along."""
    from pymatting import estimate_foreground_ml

    rgb = np.asarray(photo.convert("RGB"), dtype=np.float64) / 255.0
    alpha = np.asarray(matte_image.convert("L"), dtype=np.float64) / 255.0
    if not ((alpha > 0) & (alpha < 1)).any() or alpha_of(photo) is not None:  # a cut-out's colours are its own
        return photo.convert("RGB")
    estimated = np.clip(estimate_foreground_ml(rgb, alpha), 0.0, 1.0)
    colours = np.where((alpha == 1.0)[..., None], rgb, estimated)
    return Image.fromarray(np.rint(colours * 255).astype(np.uint8), "RGB")
