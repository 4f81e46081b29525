"""Soft product edges: an 8-bit matte from a binary mask and its photo, and the product's own colours at that edge.

Pure (numpy, OpenCV): catalog stores the matte with each scene job, the scene
composite uses it. A binary mask is right inside the product and outside it;
only a band around its edge is uncertain (a trimap). In that band the alpha is
the mask filtered with the photo as guide (He, Sun and Tang's guided filter,
the edge-aware smoothing used for matting refinement), so it follows the
photo's own edge, hair and half-covered pixels. A cut-out's alpha is its matte
as it is.

The colours in the band are a mix, ``I = a F + (1 - a) B``, of the product's
``F`` and the old background's ``B``: with ``B`` estimated from the nearest
background pixels, ``F`` is solved for; where the alpha is too small for that
to be stable, the nearest solid product colour is used. Composited with its
matte over a new scene, the edge then carries no old background.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

BAND_FRACTION = 0.006  # half-width of the uncertain band: 3 px at 512, 6 px at 1000 (at least 2)
WINDOW_FRACTION = 0.008  # the guided filter's window radius: 4 px at 512
GUIDE_EPS = 1e-4  # the guided filter's regularisation (intensities in 0-1): lower follows the photo's edges more
SOLVE_FROM = 0.15  # below this alpha the product's colour is the nearest solid one, not solved for


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


def _nearest(values: np.ndarray, where: np.ndarray, radius: int) -> np.ndarray:
    """At every pixel, the local mean colour of ``values`` over ``where`` at the nearest pixel of ``where``."""
    import cv2

    weight = where.astype(np.float64)
    sigma = max(1.0, radius / 1.5)
    local = cv2.GaussianBlur(values * weight[..., None], (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(weight, (0, 0), sigma), 1e-6)[..., None]
    _, labels = cv2.distanceTransformWithLabels((~where).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(where)
    if not len(ys):
        return values
    index = np.zeros(labels.max() + 1, dtype=np.int64)
    # labels number the zero pixels of the input (the pixels of ``where``) in scan order
    index[labels[ys, xs]] = ys * where.shape[1] + xs
    flat = local.reshape(-1, local.shape[-1])
    return flat[index[labels]].reshape(values.shape)


def foreground(photo: Image.Image, matte_image: Image.Image) -> Image.Image:
    """The product's own colours (RGB): the photo where the matte is 255, the old background taken out in the band."""
    rgb = np.asarray(photo.convert("RGB"), dtype=np.float64) / 255.0
    alpha = np.asarray(matte_image.convert("L"), dtype=np.float64) / 255.0
    band = (alpha > 0) & (alpha < 1)
    if not band.any() or alpha_of(photo) is not None:  # a cut-out's colours are its own (PNG alpha is straight)
        return photo.convert("RGB")
    radius = band_radius(matte_image.size)
    scene = _nearest(rgb, alpha == 0, radius)
    solid = _nearest(rgb, alpha == 1, radius) if (alpha == 1).any() else rgb
    a = alpha[..., None]
    solved = np.clip((rgb - (1.0 - a) * scene) / np.maximum(a, 1e-3), 0.0, 1.0)
    trust = np.clip((a - SOLVE_FROM) / (0.5 - SOLVE_FROM), 0.0, 1.0)
    colours = np.where(band[..., None], trust * solved + (1.0 - trust) * solid, rgb)
    return Image.fromarray(np.rint(colours * 255).astype(np.uint8), "RGB")
