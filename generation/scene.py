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
    mask: Image.Image  # L at the job's size: the product's matte (255 = its own pixels kept, soft along its edge)
    box: tuple[int, int, int, int]  # where the product's bounding box landed (left, top, right, bottom)
    foreground: Image.Image | None = None  # RGB: the product's colours with the old background taken out of its edge
    shadow: np.ndarray | None = None  # H x W factors (0-1) the scene is multiplied by under the product, or None


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


def place(photo: Image.Image, mask: Image.Image, size: tuple[int, int], *, scale: float, x: float, y: float,
          anchor: str = "centre", edges: str = "matte", shadow: str = "none", opacity: float = 0.5, softness: float = 0.06,
          light: float = 0.0) -> Placed:
    """The product (the mask's bounding box) scaled so its longer side is ``scale`` of the canvas, centred at x and,
    by ``anchor``, standing at y (``base``: its bottom edge there) or centred at y (``centre``).

    The aspect ratio is kept; the box is moved inside the canvas where (x, y) would push it over an edge. ``mask``
    is the job's matte (a binary mask is a matte without a soft edge). ``edges`` ``matte`` places the matte and
    the product's decontaminated colours (sdstudio.matting); ``feather`` (SD Studio's first composite, kept so old
    jobs re-run identically) a binary mask. ``shadow`` (contact, keep, none) adds what the scene is darkened by.
    """
    from sdstudio import matting

    width, height = size
    photo_rgb, matte = photo.convert("RGB"), mask.convert("L")
    binary = matte.point(lambda v: 255 if v >= 128 else 0)
    bbox = binary.getbbox()
    if bbox is None:
        raise ValueError("The mask keeps no pixel of the product.")
    factor = _fit((bbox[2] - bbox[0], bbox[3] - bbox[1]), size, scale)
    new_w = max(1, min(width, round((bbox[2] - bbox[0]) * factor)))
    new_h = max(1, min(height, round((bbox[3] - bbox[1]) * factor)))
    left = min(max(0, round(x * width - new_w / 2)), width - new_w)
    top = min(max(0, round(y * height - (new_h if anchor == "base" else new_h / 2))), height - new_h)
    box = (left, top, left + new_w, top + new_h)
    canvas = Image.new("RGB", size, background_colour(photo_rgb, binary))

    if edges == "feather":
        crop, crop_mask = photo_rgb.crop(bbox), binary.crop(bbox)
        if (new_w, new_h) != crop.size:
            crop = crop.resize((new_w, new_h), Image.Resampling.LANCZOS)
            crop_mask = crop_mask.resize((new_w, new_h), Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0)
        canvas.paste(crop, (left, top), crop_mask)
        placed_mask = Image.new("L", size, 0)
        placed_mask.paste(crop_mask, (left, top))
        return Placed(canvas=canvas, mask=placed_mask, box=box)

    # The matte's soft edge reaches beyond the binary box: place all of it with the same transform.
    transform = _Transform(bbox, box, size, photo.size)
    region, source = transform.region(matte.getbbox())

    def placed(image: Image.Image, resample, fill) -> Image.Image:
        layer = Image.new(image.mode, size, fill)
        layer.paste(image.resize((region[2] - region[0], region[3] - region[1]), resample, box=source), region[:2])
        return layer

    placed_mask = placed(matte, Image.Resampling.BILINEAR, 0)
    inside = placed_mask.point(lambda v: 255 if v == 255 else 0)
    canvas.paste(placed(photo_rgb, Image.Resampling.LANCZOS, (0, 0, 0)), (0, 0), inside)
    placed_colours = placed(matting.foreground(photo, matte), Image.Resampling.LANCZOS, (0, 0, 0))
    placed_colours.paste(canvas, (0, 0), inside)  # the product's own pixels, exactly as on the canvas
    factors = None
    if shadow == "contact":
        factors = contact_shadow(placed_mask, box, opacity=opacity, softness=softness, light=light)
    elif shadow == "keep":
        factors = transform.array(kept_shadow(photo_rgb, binary), fill=1.0)
    return Placed(canvas=canvas, mask=placed_mask, box=box, foreground=placed_colours, shadow=factors)


@dataclass(frozen=True)
class _Transform:
    """The scale and offset ``place`` applies: the photo's box ``source`` lands on the canvas's box ``target``."""
    source: tuple[int, int, int, int]
    target: tuple[int, int, int, int]
    size: tuple[int, int]  # the canvas's
    photo_size: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        return ((self.target[2] - self.target[0]) / (self.source[2] - self.source[0]),
                (self.target[3] - self.target[1]) / (self.source[3] - self.source[1]))

    def to_photo(self, x: float, y: float) -> tuple[float, float]:
        sx, sy = self.scale
        return self.source[0] + (x - self.target[0]) / sx, self.source[1] + (y - self.target[1]) / sy

    def region(self, outer: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], tuple[float, float, float, float]]:
        """The canvas's box where the photo's box ``outer`` (around ``source``) lands, one pixel wider, inside both the
        canvas and the photo, and the photo's box (floats) that maps exactly onto it."""
        sx, sy = self.scale
        # where the photo's own edges land on the canvas: the box may not reach past them
        photo_left, photo_top = self.target[0] - self.source[0] * sx, self.target[1] - self.source[1] * sy
        photo_right, photo_bottom = photo_left + self.photo_size[0] * sx, photo_top + self.photo_size[1] * sy
        left = max(0, int(np.ceil(photo_left - 1e-9)), self.target[0] - int(np.ceil((self.source[0] - outer[0]) * sx)) - 1)
        top = max(0, int(np.ceil(photo_top - 1e-9)), self.target[1] - int(np.ceil((self.source[1] - outer[1]) * sy)) - 1)
        right = min(self.size[0], int(np.floor(photo_right + 1e-9)), self.target[2] + int(np.ceil((outer[2] - self.source[2]) * sx)) + 1)
        bottom = min(self.size[1], int(np.floor(photo_bottom + 1e-9)), self.target[3] + int(np.ceil((outer[3] - self.source[3]) * sy)) + 1)
        x0, y0 = self.to_photo(left, top)
        x1, y1 = self.to_photo(right, bottom)
        return (left, top, right, bottom), (max(0.0, x0), max(0.0, y0), min(float(self.photo_size[0]), x1),
                                            min(float(self.photo_size[1]), y1))

    def array(self, values: np.ndarray, fill: float) -> np.ndarray:
        """A per-pixel map of the photo carried onto the canvas (``fill`` where the photo does not reach)."""
        import cv2

        sx, sy = self.scale
        matrix = np.array([[sx, 0.0, self.target[0] - self.source[0] * sx], [0.0, sy, self.target[1] - self.source[1] * sy]])
        return cv2.warpAffine(values.astype(np.float32), matrix, self.size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=fill).astype(np.float64)


CONTACT_HEIGHT = 0.08  # a contact shadow is the product's base squashed to this share of its height...
CONTACT_SLANT = 0.5  # ...shifted sideways by up to half its width when the light comes from a side


def contact_shadow(matte: Image.Image, box: tuple[int, int, int, int], *, opacity: float, softness: float,
                   light: float) -> np.ndarray:
    """Factors (0-1) that darken the scene under the product: its silhouette flattened onto the ground at its base.

    ``softness`` is the blur as a share of the product's height; ``light`` from -1 (light from the left: the shadow
    falls right) to 1; ``opacity`` how dark the shadow is where it is darkest.
    """
    import cv2

    alpha = np.asarray(matte, dtype=np.float32) / 255.0
    left, top, right, bottom = box
    height, width = max(1, bottom - top), max(1, right - left)
    flat_h = max(2, round(height * CONTACT_HEIGHT))
    silhouette = cv2.resize(alpha[top:bottom, left:right], (width, flat_h), interpolation=cv2.INTER_AREA)
    ground = np.zeros_like(alpha)
    shift = round(-light * CONTACT_SLANT * width * CONTACT_HEIGHT * 4)
    y0, x0 = bottom - flat_h // 2, left + shift
    ys, xs = slice(max(0, y0), min(alpha.shape[0], y0 + flat_h)), slice(max(0, x0), min(alpha.shape[1], x0 + width))
    ground[ys, xs] = silhouette[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0]
    sigma = max(1.0, softness * height)
    shade = cv2.GaussianBlur(ground, (0, 0), sigma)
    # the core: darker right where the product touches the ground
    core = cv2.GaussianBlur(ground, (0, 0), max(1.0, sigma / 4))
    shade = np.clip(0.6 * shade / max(shade.max(), 1e-6) + 0.4 * core / max(core.max(), 1e-6), 0.0, 1.0)
    return 1.0 - opacity * shade.astype(np.float64)


def kept_shadow(photo: Image.Image, mask: Image.Image) -> np.ndarray:
    """The photo's own shadow as factors (0-1): the photo divided by its background without the product and shadow.

    The clean background is a smooth surface (quadratic per channel) fitted to the photo away from the product;
    the ratio is taken on a lightly blurred photo (so the surface's texture is not read as shadow), kept only
    where it darkens, near the product, and faded out with the distance.
    """
    import cv2

    grey = cv2.GaussianBlur(np.asarray(photo.convert("L"), dtype=np.float64), (0, 0), max(1.0, 0.006 * max(photo.size)))
    product = np.asarray(mask) >= 128
    h, w = grey.shape
    reach = max(4, round(0.25 * np.sqrt(product.sum())))
    distance = cv2.distanceTransform((~product).astype(np.uint8), cv2.DIST_L2, 5)
    away = distance > reach
    if away.sum() < 16:
        return np.ones_like(grey)
    from sdstudio.matting import smooth_surface

    clean = np.maximum(smooth_surface(grey, away), 1.0)
    ratio = np.clip(grey / clean, 0.0, 1.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frame = np.minimum(np.minimum(yy, h - yy), np.minimum(xx, w - xx))  # pixels to the nearest edge of the photo
    fade = np.clip(1.0 - distance / reach, 0.0, 1.0) * np.clip(frame / (reach / 2), 0.0, 1.0)  # no edge at the frame
    factors = 1.0 - (1.0 - ratio) * fade
    factors[product] = 1.0
    return factors


def feather(mask: Image.Image) -> np.ndarray:
    """Blend weights in [0, 1]: exactly 1 on the product, falling off outside it only (the ``feather`` edges)."""
    radius = max(1.0, FEATHER_FRACTION * max(mask.size))
    hard = np.asarray(mask.convert("L"), dtype=np.float64) / 255.0
    soft = np.asarray(mask.convert("L").filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64) / 255.0
    return np.maximum(hard >= 0.5, np.clip(soft * 2.0, 0.0, 1.0))


def composite(generated: Image.Image, placed: Placed) -> Image.Image:
    """The generated scene, darkened by the product's shadow, with the product over it through its matte.

    Where the matte is 255 the pixels are the photo's, bit for bit; in its soft band the product's decontaminated
    colours are blended over the scene by the matte, so no old background comes along and nothing is extended
    outward. (``feather`` placements: SD Studio's first composite, for the re-runs of old jobs.)
    """
    generated = generated.convert("RGB")
    if generated.size != placed.canvas.size:
        generated = generated.resize(placed.canvas.size, Image.Resampling.LANCZOS)
    scene_pixels = np.asarray(generated, dtype=np.float64)
    if placed.foreground is None:
        weight = feather(placed.mask)
        source = _extend_product(placed.canvas, placed.mask, ring=(weight > 0) & (np.asarray(placed.mask) < 128))
        weight = weight[:, :, None]
        blended = np.rint(source * weight + scene_pixels * (1.0 - weight))
        out = np.clip(blended, 0, 255).astype(np.uint8)
        keep = np.asarray(placed.mask) >= 128
        out[keep] = np.asarray(placed.canvas)[keep]  # the product's pixels, bit for bit
        return Image.fromarray(out, "RGB")
    if placed.shadow is not None:
        scene_pixels = scene_pixels * placed.shadow[:, :, None]
    alpha = np.asarray(placed.mask, dtype=np.float64)[:, :, None] / 255.0
    out = np.clip(np.rint(np.asarray(placed.foreground, dtype=np.float64) * alpha + scene_pixels * (1.0 - alpha)), 0, 255)
    out = out.astype(np.uint8)
    keep = np.asarray(placed.mask) == 255
    out[keep] = np.asarray(placed.canvas)[keep]
    return Image.fromarray(out, "RGB")


def repaint_mask(placed: Placed) -> Image.Image:
    """What diffusers repaints (white): everything but the product's solid interior, shrunk by two latent cells.

    The UNet works at 1/8 of the size: a latent cell that holds some of the product's edge would otherwise keep the
    canvas's old fill colour there, a halo the composite cannot remove. Repainted under the edge, the scene reaches
    under the matte's band; the composite puts the product back over it.
    """
    if placed.foreground is None:  # feather: as SD Studio's first composite did
        return ImageOps.invert(placed.mask)
    solid = placed.mask.point(lambda v: 255 if v == 255 else 0)
    shrunk = solid.filter(ImageFilter.MinFilter(2 * REPAINT_MARGIN + 1))
    if shrunk.getbbox() is None:  # a product thinner than the margin: keep its solid pixels only
        shrunk = solid
    return ImageOps.invert(shrunk)


REPAINT_MARGIN = 16  # px: two latent cells


def _extend_product(canvas: Image.Image, mask: Image.Image, ring: np.ndarray) -> np.ndarray:
    """The canvas with the feathered ring around the product filled from the product's own edge colours (feather)."""
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
    keep = np.asarray(placed.mask) == 255 if placed.foreground is not None else np.asarray(placed.mask) >= 128
    inside = int(np.abs(out[keep] - src[keep]).max()) if keep.any() else 0
    grey_out = np.asarray(output.convert("L"), dtype=np.float64)
    grey_src = np.asarray(placed.canvas.convert("L"), dtype=np.float64)
    outside = float(np.abs(grey_out - grey_src)[~keep].mean()) if (~keep).any() else 0.0
    return SceneFidelity(product_max_pixel_diff=inside, background_change=round(outside, 2))
