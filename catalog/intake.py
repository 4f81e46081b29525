"""Safe photo intake: decide from the decoded pixels, never from the name or the header alone.

Policy, in the order applied:
1. Size: an empty file, or one over SDSTUDIO_UPLOAD_MAX_BYTES, is refused.
2. Format: JPEG, PNG, WebP or HEIC/HEIF (phones; pillow-heif) as identified by Pillow from the bytes (the file
   name and the browser's content type are ignored).
3. Pixel cap: width x height from the header is checked against
   SDSTUDIO_UPLOAD_MAX_PIXELS *before* any pixel is decoded (decompression bombs).
4. Full decode: every pixel is decoded; truncated or corrupt files are refused.
5. Animation: animated PNG/WebP are reduced to their first frame (stated to the user).
6. EXIF orientation is applied, then every colour mode becomes 8-bit RGB
   (CMYK converted, transparency flattened on white, 16-bit scaled down).
   A cut-out's transparency is kept as the photo's product mask (catalog.masks).
7. Stored re-encoded as PNG under a generated name; the SHA-256 of the RGB
   pixels identifies the photo (the same photo twice on a product is caught).
"""
from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from catalog import masks
from sdstudio.images import pixels_sha256

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")


def _register_heif() -> None:
    """HEIC/HEIF photos as phones take them, through pillow-heif's Pillow plugin (registered once)."""
    try:
        import pillow_heif
    except ImportError:  # an install without it still takes JPEG, PNG and WebP
        return
    pillow_heif.register_heif_opener()


_register_heif()
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass
class CleanPhoto:
    image: Image.Image
    png: bytes
    sha256: str
    original_format: str
    original_name: str
    notes: list[str]
    mask: Image.Image | None = None  # from the alpha channel of a cut-out (255 = product)
    alpha: Image.Image | None = None  # that alpha channel itself (L), the soft edge the photo was cut out with
    declared_source_type: str = ""  # what the file says made it (IPTC digital source type URI)
    declared_by: str = ""  # "c2pa" (a manifest that verified) or "xmp"

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.2f}".rstrip("0").rstrip(".")


def safe_original_name(name: str | None) -> str:
    """Only the last path component, printable, at most 255 characters: kept for display, never used as a path."""
    base = os.path.basename((name or "").replace("\\", "/"))
    return "".join(ch for ch in base if ch.isprintable())[:255]


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(array, mode="L").convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def to_srgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """RGB pixels in sRGB, without an embedded profile: a photo's own profile converted (Display P3, Adobe RGB, CMYK),
    or dropped with a note when it cannot be read. Never copied: Pillow refuses to reopen a PNG whose profile is
    over 1 MB (PngImagePlugin.MAX_TEXT_CHUNK)."""
    from PIL import ImageCms

    profile = image.info.get("icc_profile")
    if not profile:
        return to_rgb(image)
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        description = (ImageCms.getProfileDescription(source) or "").strip()
        if "srgb" in description.lower().replace(" ", ""):
            rgb = to_rgb(image)  # already sRGB: the pixels stay as they are
        else:
            base = image if image.mode in ("RGB", "CMYK") else to_rgb(image)
            rgb = ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            notes.append(gettext("Colours converted from the photo's profile (%(value)s) to sRGB.")
                         % {"value": description[:60] or 'unnamed'})
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        rgb = to_rgb(image)
        notes.append(gettext("The photo's colour profile could not be read: it was dropped and its colours taken as sRGB."))
    rgb.info.pop("icc_profile", None)
    return rgb


def corrupt(exc: Exception) -> ValidationError:
    detail = str(exc).strip().rstrip(".") or type(exc).__name__
    return ValidationError(
        gettext("The image could not be decoded completely (%(detail)s); the file is truncated or corrupt. Upload the"
                " original again.") % {"detail": detail},
        code="corrupt",
    )


def clean_photo(data: bytes, *, name: str | None = None) -> CleanPhoto:
    """Validate and normalise one uploaded photo, or raise ValidationError with a sentence a merchandiser understands."""
    max_bytes = settings.SDSTUDIO_UPLOAD_MAX_BYTES
    max_pixels = settings.SDSTUDIO_UPLOAD_MAX_PIXELS
    if not data:
        raise ValidationError(gettext("The file is empty. Choose a JPEG, PNG or WebP photo."), code="empty")
    if len(data) > max_bytes:
        raise ValidationError(
            gettext("The file is %(filesizeformat)s; the limit is %(filesizeformat2)s. Export a smaller JPEG or PNG.")
            % {"filesizeformat": filesizeformat(len(data)), "filesizeformat2": filesizeformat(max_bytes)},
            code="too_large",
        )
    notes: list[str] = []
    # Pillow checks the header's size against this cap when opening, before any pixel is decoded.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Between the cap and twice the cap Pillow only warns: the explicit check below refuses those with their size.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{megapixels(int(declared.group(1)))} megapixels" if declared else "too many pixels"
        raise ValidationError(
            gettext("The image is %(size)s; the limit is %(megapixels)s megapixels. Resize it first.")
            % {"size": size, "megapixels": megapixels(max_pixels)},
            code="too_many_pixels",
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            gettext("This file is not a JPEG, PNG or WebP image, nor a phone's HEIC (whatever its name says). Export the "
                    "photo as JPEG or PNG."),
            code="format",
        ) from None
    except Exception as exc:  # Pillow raises many kinds of error on hostile headers; each means "corrupt".
        raise corrupt(exc) from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ValidationError(
                gettext("Image is %(width)sx%(height)s px (%(megapixels)s megapixels); the limit is %(megapixels2)s "
                        "megapixels. Resize it first.") % {"width": width, "height": height, "megapixels": megapixels(width * height), "megapixels2": megapixels(max_pixels)},
                code="too_many_pixels",
            )
        if width < 16 or height < 16:
            raise ValidationError(gettext("Image is %(width)sx%(height)s px; photos must be at least 16x16 px.")
                                  % {"width": width, "height": height}, code="too_small")
        original_format = image.format or ""
        try:
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                notes.append(gettext("Animated image: only the first of its %(frames)s frames was kept.") % {"frames": frames})
                image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
            mask = masks.from_alpha(upright)
            alpha = upright.convert("RGBA").getchannel("A") if mask is not None else None
            rgb = to_srgb(upright, notes)
        except Exception as exc:  # Decoding untrusted bytes: any failure is a corrupt file, never a 500.
            raise corrupt(exc) from None
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", optimize=False)
    return CleanPhoto(
        image=rgb,
        png=buffer.getvalue(),
        sha256=pixels_sha256(rgb),
        original_format=original_format,
        original_name=safe_original_name(name),
        notes=notes,
        mask=mask,
        alpha=alpha,
        **dict(zip(("declared_source_type", "declared_by"), declared_origin(data))),
    )


XMP_SOURCE_TYPE = re.compile(rb"DigitalSourceType(?:>|=\"|=')\s*(https?://cv\.iptc\.org/newscodes/digitalsourcetype/[A-Za-z]+)")


def declared_origin(data: bytes) -> tuple[str, str]:
    """What an upload declares about its origin: from a C2PA manifest that verifies, else from its XMP (a claim)."""
    from sdstudio import credentials

    try:
        found = credentials.read_image_file(data)
    except Exception:  # an unreadable manifest declares nothing; the photo itself was already checked
        found = None
    if found is not None and found.state == "valid" and found.digital_source_types:
        return found.digital_source_types[0][:200], "c2pa"
    match = XMP_SOURCE_TYPE.search(data[:4 * 1024 * 1024])
    if match:
        return match.group(1).decode("ascii")[:200], "xmp"
    return "", ""
