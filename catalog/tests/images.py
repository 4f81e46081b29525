"""Image files made in the tests, good and bad."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def encode(image: Image.Image, fmt: str = "PNG", **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def product_like(size=(120, 80)) -> Image.Image:
    """Asymmetric content so orientation mistakes show."""
    image = Image.new("RGB", size, (240, 240, 240))
    image.paste((200, 20, 20), (0, 0, size[0] // 3, size[1] // 2))
    return image


def png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (a decompression-bomb shape)."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_with_orientation(orientation: int) -> bytes:
    image = product_like()
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def animated_png(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (40, 40), (i * 80, 0, 0)) for i in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100, loop=0)
