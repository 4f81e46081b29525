"""Scene mode's image work: place the product on the canvas, composite it back exactly, find its edges, measure.

Pure (Pillow, numpy, OpenCV; no torch, no Django): the runner, the worker's
metrics and the tests share it. Masks are 8-bit, 255 = product (kept).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

FEATHER_FRACTION = 0.008  # the blend into the generated scene: 4 px at 512, all of it outside the product
CANNY_LOW, CANNY_HIGH = 100, 200  # the thresholds of ControlNet's canny model card


@dataclass(frozen=True)
class Placed:
    canvas: Image.Image  # RGB at the job's size: the product on its photo's background colour
    mask: Image.Image  # L at the job's size: 255 where the product's pixels are kept
    box: tuple[int, int, int, int]  # where the product's bounding box landed (left, top, right, bottom)


def prepare_source(image: Image.Image, width: int, height: int, fit: str = "crop") -> Image.Image:
    """A source photo at the job's size, in RGB: ``pad`` the whole photo, centred, on bands of its own edge colour;
    ``crop`` filling the canvas (centre crop, aspect ratio kept); ``stretch`` to the canvas (aspect ratio lost)."""
    image = image.convert("RGB")
    if image.size == (width, height):
        return image
    if fit == "stretch":
        return image.resize((width, height), Image.Resampling.LANCZOS)
    if fit == "pad":
        scale = min(width / image.width, height / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        border = np.concatenate([np.asarray(image)[[0, -1]].reshape(-1, 3), np.asarray(image)[:, [0, -1]].reshape(-1, 3)])
        canvas = Image.new("RGB", (width, height), tuple(int(v) for v in np.median(border, axis=0)))
        canvas.paste(image.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
        return canvas
    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)


def outline(mask: Image.Image, colour: tuple[int, int, int] = (255, 0, 255), width: int = 2) -> Image.Image:
    """The edge of a mask's kept region as an RGBA overlay (``width`` px, transparent elsewhere), for reviewers."""
    kept = mask.convert("L").point(lambda v: 255 if v >= 128 else 0)
    edge = kept.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(2 * (width // 2) + 1))
    overlay = Image.new("RGBA", mask.size, colour + (0,))
    overlay.putalpha(edge.point(lambda v: 255 if v else 0))
    return overlay


def background_colour(photo: Image.Image, mask: Image.Image) -> tuple[int, int, int]:
    """The median colour of the photo outside the product: what the canvas starts from around it."""
    pixels = np.asarray(photo.convert("RGB")).reshape(-1, 3)
    outside = np.asarray(mask.convert("L")).reshape(-1) < 128
    if not outside.any():
        return (128, 128, 128)
    return tuple(int(v) for v in np.median(pixels[outside], axis=0))


ENLARGEMENT_WARN = 2.0  # the product shown more than twice its size on the photo: the page warns
ENLARGEMENT_MAX = 4.0  # more than four times: refused (its pixels would be blocks)


def _fit(crop_size: tuple[int, int], size: tuple[int, int], scale: float) -> float:
    """The factor that makes the product's longer side ``scale`` of the canvas (aspect ratio kept)."""
    return scale * min(size[0] / crop_size[0], size[1] / crop_size[1])


def enlargement(mask: Image.Image, size: tuple[int, int], scale: float) -> float:
    """How many times larger than on the photo ``place`` shows the product (its mask's bounding box)."""
    bbox = mask.convert("L").point(lambda v: 255 if v >= 128 else 0).getbbox()
    return _fit((bbox[2] - bbox[0], bbox[3] - bbox[1]), size, scale) if bbox else 0.0


def kept_region(mask: Image.Image) -> tuple[float, int]:
    """(share of the photo, pieces) of what a mask keeps; pieces under 1% of the kept area are not counted."""
    import cv2

    kept = (np.asarray(mask.convert("L")) >= 128).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(kept, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return float(kept.mean()), int(np.count_nonzero(areas >= 0.01 * max(1, areas.sum())))


def place(photo: Image.Image, mask: Image.Image, size: tuple[int, int], *, scale: float, x: float, y: float) -> Placed:
    """The product (the mask's bounding box) scaled so its longer side is ``scale`` of the canvas, centred at (x, y).

    The aspect ratio is kept; the box is moved inside the canvas where (x, y) would push it over an edge.
    """
    width, height = size
    photo, mask = photo.convert("RGB"), mask.convert("L").point(lambda v: 255 if v >= 128 else 0)
    bbox = mask.getbbox()
    if bbox is None:
        raise ValueError("The mask keeps no pixel of the product.")
    crop, crop_mask = photo.crop(bbox), mask.crop(bbox)
    factor = _fit(crop.size, size, scale)
    new_w, new_h = max(1, min(width, round(crop.width * factor))), max(1, min(height, round(crop.height * factor)))
    if (new_w, new_h) != crop.size:
        crop = crop.resize((new_w, new_h), Image.Resampling.LANCZOS)
        crop_mask = crop_mask.resize((new_w, new_h), Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0)
    left = min(max(0, round(x * width - new_w / 2)), width - new_w)
    top = min(max(0, round(y * height - new_h / 2)), height - new_h)
    canvas = Image.new("RGB", size, background_colour(photo, mask))
    canvas.paste(crop, (left, top), crop_mask)
    placed_mask = Image.new("L", size, 0)
    placed_mask.paste(crop_mask, (left, top))
    return Placed(canvas=canvas, mask=placed_mask, box=(left, top, left + new_w, top + new_h))


def feather(mask: Image.Image) -> np.ndarray:
    """Blend weights in [0, 1]: exactly 1 on the product, falling off outside it only."""
    radius = max(1.0, FEATHER_FRACTION * max(mask.size))
    hard = np.asarray(mask.convert("L"), dtype=np.float64) / 255.0
    soft = np.asarray(mask.convert("L").filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64) / 255.0
    return np.maximum(hard >= 0.5, np.clip(soft * 2.0, 0.0, 1.0))


def composite(generated: Image.Image, placed: Placed) -> Image.Image:
    """The generated scene with the product's own pixels put back: identical inside the mask, feathered outside."""
    generated = generated.convert("RGB")
    if generated.size != placed.canvas.size:
        generated = generated.resize(placed.canvas.size, Image.Resampling.LANCZOS)
    weight = feather(placed.mask)
    source = _extend_product(placed.canvas, placed.mask, ring=(weight > 0) & (np.asarray(placed.mask) < 128))
    weight = weight[:, :, None]
    blended = np.rint(source * weight + np.asarray(generated, dtype=np.float64) * (1.0 - weight))
    out = np.clip(blended, 0, 255).astype(np.uint8)
    keep = np.asarray(placed.mask) >= 128
    out[keep] = np.asarray(placed.canvas)[keep]  # the product's pixels, bit for bit
    return Image.fromarray(out, "RGB")


def _extend_product(canvas: Image.Image, mask: Image.Image, ring: np.ndarray) -> np.ndarray:
    """The canvas with the feathered ring around the product filled from the product's own edge colours.

    Blending into the photo's old background would draw a halo of it around the product in the new scene.
    """
    import cv2

    pixels = np.asarray(canvas.convert("RGB"))
    if not ring.any():
        return pixels.astype(np.float64)
    filled = cv2.inpaint(pixels, ring.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    return filled.astype(np.float64)


def canny(image: Image.Image) -> Image.Image:
    """The Canny edge map ControlNet's canny model is conditioned on (white edges on black, RGB)."""
    import cv2

    edges = cv2.Canny(np.asarray(image.convert("L")), CANNY_LOW, CANNY_HIGH)
    return Image.fromarray(edges, "L").convert("RGB")


@dataclass(frozen=True)
class SceneFidelity:
    product_max_pixel_diff: int  # 0: the product's pixels are the photo's
    background_change: float  # mean grey-level difference outside the product (0 = the scene did not change)


def scene_fidelity(output: Image.Image, placed: Placed) -> SceneFidelity:
    out = np.asarray(output.convert("RGB"), dtype=np.int16)
    src = np.asarray(placed.canvas, dtype=np.int16)
    keep = np.asarray(placed.mask) >= 128
    inside = int(np.abs(out[keep] - src[keep]).max()) if keep.any() else 0
    grey_out = np.asarray(output.convert("L"), dtype=np.float64)
    grey_src = np.asarray(placed.canvas.convert("L"), dtype=np.float64)
    outside = float(np.abs(grey_out - grey_src)[~keep].mean()) if (~keep).any() else 0.0
    return SceneFidelity(product_max_pixel_diff=inside, background_change=round(outside, 2))
