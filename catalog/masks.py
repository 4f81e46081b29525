"""Product masks (255 = the product, kept; 0 = the scene, regenerated): from a cut-out's alpha, found automatically, or drawn.

The automatic mask is OpenCV's GrabCut, seeded from what the photo's border
says about the background: a packshot's product sits inside the frame, so the
border is background. A smooth model of the border (a quadratic surface per
channel, which follows studio sweeps and gradients) marks the pixels that
stand out as probable product, the border itself as certain background, and
GrabCut's colour models settle the rest (textured surfaces included). Small
specks are dropped and the product's own small holes filled; large holes
(the inside of a headphone band, a mug's handle) stay background.
"""
from __future__ import annotations

import io

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from PIL import Image

from sdstudio.matting import smooth_surface

WORK_SIZE = 256  # GrabCut runs on the photo reduced to this longest side; the mask is scaled back up
BORDER_FRACTION = 0.03
MIN_PRODUCT_FRACTION = 0.002  # a drawn or found mask keeps at least 0.2% of the photo...
MAX_PRODUCT_FRACTION = 0.98  # ...and leaves at least 2% of it to the scene


def binarize(mask: Image.Image) -> Image.Image:
    return mask.convert("L").point(lambda v: 255 if v >= 128 else 0)


def from_alpha(image: Image.Image) -> Image.Image | None:
    """The product mask a cut-out carries in its alpha channel, or None when the photo has no real transparency."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La"):
        return None
    alpha = image.getchannel("A")
    low, high = alpha.getextrema()
    if low == 255 or high == 0:  # fully opaque (an alpha channel that says nothing) or fully transparent
        return None
    return binarize(alpha)


def _border(shape: tuple[int, int], width: int) -> np.ndarray:
    border = np.zeros(shape, dtype=bool)
    border[:width], border[-width:], border[:, :width], border[:, -width:] = True, True, True, True
    return border


def _distance_to_border_colours(pixels: np.ndarray, border: np.ndarray, clusters: int = 8) -> np.ndarray:
    import cv2

    samples = pixels[border].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    _, _, centres = cv2.kmeans(samples, min(clusters, len(samples)), None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    centres = centres.astype(np.float64)
    # Pixels on the line between two border colours are a blend of them (a horizon, a grain edge): background too.
    starts, ends = [], []
    for i in range(len(centres)):
        for j in range(i, len(centres)):
            starts.append(centres[i])
            ends.append(centres[j])
    a, b = np.array(starts), np.array(ends)
    direction = b - a
    length2 = np.maximum((direction**2).sum(-1), 1e-9)
    flat = pixels.reshape(-1, 1, 3)
    t = np.clip(((flat - a[None]) * direction[None]).sum(-1) / length2[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * direction[None]
    return np.abs(flat - nearest).max(axis=-1).min(axis=-1).reshape(pixels.shape[:2])


def _fill_small_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    import cv2

    holes = (~mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    filled = mask.copy()
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == mask.shape[1] or y + h == mask.shape[0]
        if area <= max_area and not touches_border:
            filled[labels == label] = True
    return filled


def _drop_thin_border_strands(mask: np.ndarray, band: int) -> np.ndarray:
    """Thin lines reaching the frame's edge (a horizon, a table's edge) are scenery: the product sits inside the frame."""
    import cv2

    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))).astype(bool)
    thin = mask & ~opened
    count, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    result = mask.copy()
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if x <= band or y <= band or x + w >= mask.shape[1] - band or y + h >= mask.shape[0] - band:
            result[labels == label] = False
    return result


def _drop_specks(mask: np.ndarray) -> np.ndarray:
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= max(areas.max() * 0.08, 4))
    return np.isin(labels, keep)


def automatic(image: Image.Image) -> Image.Image:
    """A product mask for a packshot (product inside the frame, on a plain, gradient or textured background)."""
    import cv2

    rgb = image.convert("RGB")
    scale = min(1.0, WORK_SIZE / max(rgb.size))
    small = rgb.resize((max(8, round(rgb.width * scale)), max(8, round(rgb.height * scale))), Image.Resampling.LANCZOS) if scale < 1 else rgb
    pixels = np.asarray(small, dtype=np.float64)
    h, w, _ = pixels.shape
    band = max(2, round(min(h, w) * BORDER_FRACTION))
    border = _border((h, w), band)
    expected = smooth_surface(pixels, border)  # the background as if the product were not there
    # How far each pixel is from the background: from the smooth model (sweeps, gradients), or from the nearest
    # colour of the border (textured surfaces, a wall behind a table), whichever is closer.
    residual = np.minimum(np.abs(pixels - expected).max(axis=-1), _distance_to_border_colours(pixels, border))
    threshold = max(18.0, 2.5 * float(np.percentile(residual[border], 95)))
    product = residual > threshold
    # A cast shadow is the background darkened evenly in every channel: background, not product.
    ratio = (pixels + 1.0) / (np.clip(expected, 0, 255) + 1.0)
    shadow = (ratio.max(axis=-1) < 0.97) & (ratio.min(axis=-1) > 0.4) & (ratio.max(axis=-1) - ratio.min(axis=-1) < 0.08)
    seed = np.where(product & ~shadow, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed[shadow & product] = cv2.GC_BGD
    seed[border] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: the same photo always gives the same mask
    try:
        cv2.grabCut(np.asarray(small, dtype=np.uint8)[:, :, ::-1].copy(), seed, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too little variety for its colour models (a flat image): keep what stood out, if anything
        pass
    mask = (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
    # GrabCut's smoothing lets the product bleed along edges of the scenery (a horizon): keep it near what stood out.
    stands_out = cv2.dilate((product & ~shadow).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask &= stands_out.astype(bool)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    mask = _fill_small_holes(_drop_specks(_drop_thin_border_strands(mask, band + 1)), max_area=int(h * w * 0.008))
    found = Image.fromarray((mask * 255).astype(np.uint8), "L")
    if found.size != rgb.size:
        found = binarize(found.resize(rgb.size, Image.Resampling.BILINEAR))
    return found


def check(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A mask for a photo of ``size``, made binary, or ValidationError with what is wrong."""
    if mask.size != size:
        raise ValidationError(
            gettext("The mask is %(width)sx%(height)s px but the photo is %(value)sx%(value2)s px; draw it on the photo itself.")
            % {"width": mask.width, "height": mask.height, "value": size[0], "value2": size[1]},
            code="mask_size",
        )
    mask = binarize(from_alpha(mask) or mask)  # a transparent drawing counts by its alpha, any other by its brightness
    kept = np.count_nonzero(np.asarray(mask)) / (size[0] * size[1])
    if kept < MIN_PRODUCT_FRACTION:
        raise ValidationError(gettext("The mask is empty: paint over the product so SD Studio knows which pixels to keep."), code="mask_empty")
    if kept > MAX_PRODUCT_FRACTION:
        raise ValidationError(
            gettext("The mask covers %(kept)s of the photo: nothing would be left to change. Erase the background from it.")
            % {"kept": format(kept, '.0%')},
            code="mask_full",
        )
    return mask


def decode(data: bytes, size: tuple[int, int]) -> Image.Image:
    """A mask uploaded as PNG bytes (white = product; or transparency outside the product), checked for a photo of ``size``."""
    try:
        image = Image.open(io.BytesIO(data), formats=("PNG", "WEBP"))
        if image.width * image.height > size[0] * size[1] * 4:
            raise ValidationError(gettext("The mask is far larger than the photo; draw it on the photo itself."), code="mask_size")
        image.load()
    except ValidationError:
        raise
    except Exception:
        raise ValidationError(gettext("The mask is not a PNG image: send it as an 8-bit PNG, white over the product."), code="mask_format") from None
    return check(image, size)


def png(mask: Image.Image, *, soft: bool = False) -> bytes:
    """A mask as PNG bytes: binary, or (``soft``) an 8-bit matte as it is."""
    buffer = io.BytesIO()
    (mask.convert("L") if soft else binarize(mask)).save(buffer, format="PNG")
    return buffer.getvalue()


def iou(a: Image.Image, b: Image.Image) -> float:
    x, y = np.asarray(binarize(a)) > 0, np.asarray(binarize(b)) > 0
    union = np.count_nonzero(x | y)
    return np.count_nonzero(x & y) / union if union else 1.0


HINT_WORK_SIZE = 384  # hints refine at this longest side: a box on a 1 MP photo answers in ~0.8 s on two cores
HINT_ITERATIONS = 3  # as good as 4 on the real set (bench/masks.py), a quarter faster
CLICK_TOLERANCE = 10  # a click also speaks, softly, for the pixels joined to it within this colour step (8-bit CIELAB)...
CLICK_REACH = 0.12  # ...and no farther from it than this share of the photo's longest side
CLICK_LOCAL = 0.2  # a click in the editor changes the mask only this near it (share of the longest side)...
CLICK_CONTEXT = 0.08  # ...and GrabCut sees this much more around it: 0.1-0.5 s a click on the real set, was 0.3-2.6 s


def parse_box(value, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box around the product, ``x0,y0,x1,y1`` in the photo's pixels (a string or four numbers), checked against it."""
    try:
        numbers = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise ValidationError(gettext("The box must be four numbers, x0,y0,x1,y1, in the photo's pixels."), code="box_format") from None
    if len(numbers) != 4 or not all(np.isfinite(numbers)):
        raise ValidationError(gettext("The box must be four numbers, x0,y0,x1,y1, in the photo's pixels."), code="box_format")
    x0, y0, x1, y1 = (round(v) for v in numbers)
    width, height = size
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise ValidationError(gettext("The box (%(x0)s,%(y0)s)-(%(x1)s,%(y1)s) reaches outside the photo, which is %(width)sx%(height)s px.")
                              % {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "width": width, "height": height},
                              code="box_outside")
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise ValidationError(gettext("The box is empty: drag it around the whole product."), code="box_empty")
    if (x1 - x0) * (y1 - y0) >= width * height * MAX_PRODUCT_FRACTION:
        raise ValidationError(gettext("The box is the whole photo: drag it around the product only, so its surroundings are scenery."),
                              code="box_full")
    return x0, y0, x1, y1


def parse_points(values, size: tuple[int, int]) -> list[tuple[int, int]]:
    """Points ``x,y`` (strings or pairs) in the photo's pixels, each inside it."""
    points = []
    for value in values or ():
        try:
            x, y = (float(v) for v in (value.split(",") if isinstance(value, str) else value))
        except (TypeError, ValueError):
            raise ValidationError(gettext("“%(value)s” is not a point: give x,y in the photo's pixels.")
                                  % {"value": value}, code="point_format") from None
        if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < size[0] and 0 <= y < size[1]):
            raise ValidationError(gettext("The point (%(x)s,%(y)s) is outside the photo, which is %(value)sx%(value2)s px.")
                                  % {"x": format(x, 'g'), "y": format(y, 'g'), "value": size[0], "value2": size[1]},
                                  code="point_outside")
        points.append((round(x), round(y)))
    return points


def _click_region(lab: np.ndarray, x: int, y: int, reach: int) -> np.ndarray:
    """The pixels a click speaks for: joined to it by colours within CLICK_TOLERANCE of its own, at most ``reach``
    pixels away (a click on a black cover speaks for the cover, not for one dot of it)."""
    import cv2

    h, w = lab.shape[:2]
    x, y = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
    left, top = max(0, x - reach), max(0, y - reach)
    window = np.ascontiguousarray(lab[top:y + reach + 1, left:x + reach + 1])
    filled = np.zeros((window.shape[0] + 2, window.shape[1] + 2), np.uint8)
    tolerance = (CLICK_TOLERANCE,) * 3
    cv2.floodFill(window, filled, (x - left, y - top), 0, tolerance, tolerance,
                  4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
    region = np.zeros((h, w), bool)
    region[top:top + window.shape[0], left:left + window.shape[1]] = filled[1:-1, 1:-1] > 0
    return region


def from_hints(image: Image.Image, *, box=None, add=(), remove=(), start: Image.Image | None = None,
               focus: tuple[int, int] | None = None) -> Image.Image:
    """GrabCut from a person's hints, in the photo's pixels: ``box`` around the product (outside it is scene), points
    on the product (``add``) and on the scene (``remove``); without a box it refines ``start`` (the current mask).

    The editor gives every hint of a session each time (the box and all its points), so each stays a constraint;
    ``focus`` is the point just clicked and ``start`` the mask shown: GrabCut then runs near the click only, seeded
    from that mask (its colour models learn the colours there), and only the mask within CLICK_LOCAL of the click
    changes. Refining the last answer with one new point over the whole photo let GrabCut's colour models drift
    away from what earlier points said (bench/masks.py: the squirrel fell from 0.75 to 0.44 at its first click)."""
    import cv2

    rgb = image.convert("RGB")
    scale = min(1.0, HINT_WORK_SIZE / max(rgb.size))
    small = rgb.resize((max(8, round(rgb.width * scale)), max(8, round(rgb.height * scale))), Image.Resampling.LANCZOS) if scale < 1 else rgb
    w, h = small.size
    if focus is not None and start is None:
        raise ValueError("a click (focus) refines the mask shown (start)")
    if box is None and start is None:
        start = automatic(rgb)
    if start is not None and (box is None or focus is not None):
        kept = np.asarray(binarize(start).resize((w, h), Image.Resampling.NEAREST)) >= 128
        seed = np.where(kept, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    else:
        seed = np.full((h, w), cv2.GC_PR_FGD, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = (int(v * scale) for v in box)
        inside = np.zeros((h, w), bool)
        inside[max(0, y0):min(h, max(y0 + 1, y1)), max(0, x0):min(w, max(x0 + 1, x1))] = True
        seed[~inside] = cv2.GC_BGD
    if add or remove:
        # a point's colour region joins its side softly (GrabCut's colour models learn from it); the point itself firmly
        lab = cv2.cvtColor(cv2.GaussianBlur(np.asarray(small, dtype=np.uint8), (0, 0), 1.0), cv2.COLOR_RGB2LAB)
        for points, label in ((add, cv2.GC_PR_FGD), (remove, cv2.GC_PR_BGD)):
            for x, y in points:
                region = _click_region(lab, int(x * scale), int(y * scale), round(max(w, h) * CLICK_REACH))
                seed[region & (seed != cv2.GC_BGD) & (seed != cv2.GC_FGD)] = label
    radius = max(2, round(max(w, h) * 0.012))
    for points, label in ((add, cv2.GC_FGD), (remove, cv2.GC_BGD)):
        for x, y in points:
            cv2.circle(seed, (int(x * scale), int(y * scale)), radius, int(label), -1)
    window = (slice(0, h), slice(0, w))
    if focus is not None:  # a click: the mask changes only near it, so GrabCut needs only that part and some context
        reach = round(max(w, h) * (CLICK_LOCAL + CLICK_CONTEXT))
        fx, fy = int(focus[0] * scale), int(focus[1] * scale)
        window = (slice(max(0, fy - reach), fy + reach + 1), slice(max(0, fx - reach), fx + reach + 1))
    part = np.ascontiguousarray(seed[window])
    if np.isin(part, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() and np.isin(part, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # the same hints on the same photo always give the same mask
        try:
            cv2.grabCut(np.ascontiguousarray(np.asarray(small, dtype=np.uint8)[:, :, ::-1][window]), part, None, bgd, fgd,
                        HINT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
        except cv2.error:  # a flat region: its colour models cannot form; the hints alone stand
            pass
        seed[window] = part
    mask = np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD))
    mask = _fill_small_holes(_drop_specks(mask), max_area=int(h * w * 0.002))
    # The hard labels (outside the box, the points) stay as the person put them, whatever the clean-up did.
    mask[seed == cv2.GC_BGD] = False
    mask[seed == cv2.GC_FGD] = True
    found = Image.fromarray((mask * 255).astype(np.uint8), "L")
    found = binarize(found.resize(rgb.size, Image.Resampling.BILINEAR)) if found.size != rgb.size else found
    if focus is None:
        return found
    fx, fy = focus
    reach = CLICK_LOCAL * max(rgb.size)
    y, x = np.ogrid[0:rgb.height, 0:rgb.width]
    near = (x - fx) ** 2 + (y - fy) ** 2 <= reach * reach
    before = np.asarray(binarize(start).resize(rgb.size, Image.Resampling.NEAREST)) >= 128
    return Image.fromarray((np.where(near, np.asarray(found) >= 128, before) * 255).astype(np.uint8), "L")


UNSURE_BELOW = 0.5  # a found mask under this confidence is shown as unsure, and a box is asked for
WEAK_EDGE_CONTRAST = 12.0  # CIELAB distance between the two sides of a mask's edge under which nothing is seen there
WEAK_EDGE_SHARE = (0.10, 0.20)  # share of the edge seen as nothing: from sure (product edges) to unsure (a cut)


def weak_edge_share(lab: np.ndarray, kept: np.ndarray) -> float:
    """The share of a mask's edge (frame edges aside) across which the photo does not change: a product's outline
    shows against its surroundings nearly everywhere; a mask that cuts through a shaded side or a smooth surface
    runs along nothing. Each side is the local mean colour 1-5 px from the edge (CIELAB)."""
    import cv2

    inside_distance = cv2.distanceTransform(kept.astype(np.uint8), cv2.DIST_L2, 5)
    outside_distance = cv2.distanceTransform((~kept).astype(np.uint8), cv2.DIST_L2, 5)

    def side(distance):
        weight = ((distance > 1) & (distance <= 5)).astype(np.float64)
        total = cv2.GaussianBlur(lab * weight[..., None], (0, 0), 3)
        return total / np.maximum(cv2.GaussianBlur(weight, (0, 0), 3), 1e-6)[..., None]

    edge = kept & (inside_distance <= 1.5)
    edge[0], edge[-1], edge[:, 0], edge[:, -1] = False, False, False, False
    if not edge.any():
        return 0.0
    step = np.linalg.norm(side(inside_distance)[edge] - side(outside_distance)[edge], axis=-1)
    return float((step < WEAK_EDGE_CONTRAST).mean())


def confidence(image: Image.Image, mask: Image.Image) -> float:
    """How much a found mask looks like one product (0-1): its share of the photo, its pieces, how solid it is (a
    rim or a strand is not a product), how much of the frame's edge it touches, how its edge stands out on the
    whole, and how much of its edge runs where the photo shows no edge at all (a product cut in two)."""
    import cv2

    scale = min(1.0, WORK_SIZE / max(mask.size))
    size = (max(8, round(mask.width * scale)), max(8, round(mask.height * scale)))
    kept = np.asarray(binarize(mask).resize(size, Image.Resampling.NEAREST)) >= 128
    share = kept.mean()
    if share <= 0 or share >= 1:
        return 0.0
    area = np.interp(share, [0.004, 0.03, 0.85, 0.97], [0.0, 1.0, 1.0, 0.0])
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    pieces = int(np.count_nonzero(areas >= 0.02 * areas.sum()))
    contours, _ = cv2.findContours(kept.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours)) if contours else None
    solidity = kept.sum() / max(1.0, cv2.contourArea(hull)) if hull is not None else 0.0
    edge = np.concatenate([kept[0], kept[-1], kept[:, 0], kept[:, -1]]).mean()
    lab = cv2.cvtColor(np.asarray(image.convert("RGB").resize(size, Image.Resampling.BILINEAR)), cv2.COLOR_RGB2LAB).astype(np.float64)
    ring = np.ones((5, 5), np.uint8)
    inside = kept & ~cv2.erode(kept.astype(np.uint8), ring).astype(bool)
    outside = cv2.dilate(kept.astype(np.uint8), ring).astype(bool) & ~kept
    contrast = float(np.linalg.norm(lab[inside].mean(0) - lab[outside].mean(0))) if inside.any() and outside.any() else 0.0
    seen = np.interp(weak_edge_share(lab, kept), WEAK_EDGE_SHARE, [1.0, 0.0])
    score = (area * min(1.0, solidity / 0.6) * pieces ** -0.5 * max(0.0, 1.0 - 2.5 * edge) * min(1.0, contrast / 25.0) * seen)
    return round(float(score), 3)


CENTRE_MARGIN = 0.03  # the second candidate's box: the photo less 3% on each side


def find_product(image: Image.Image) -> tuple[Image.Image, float, str]:
    """The automatic mask with its confidence and how it was found.

    The border-seeded mask first (packshots: the frame's edge is background); when it looks like no product (a
    rim, fragments: a real photo whose surroundings vary), GrabCut from a box just inside the frame too (a product
    photo is framed around its product), and whichever looks more like one product is kept.
    """
    rgb = image.convert("RGB")
    found = automatic(rgb)
    score = confidence(rgb, found)
    if score >= UNSURE_BELOW:
        return found, score, "border"
    w, h = rgb.size
    box = (round(w * CENTRE_MARGIN), round(h * CENTRE_MARGIN), round(w * (1 - CENTRE_MARGIN)), round(h * (1 - CENTRE_MARGIN)))
    framed = from_hints(rgb, box=box)
    framed_score = confidence(rgb, framed)
    return (framed, framed_score, "framed") if framed_score > score else (found, score, "border")
