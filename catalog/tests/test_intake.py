"""Safe photo intake: each case made in the test; rejected files leave nothing stored."""
from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from catalog.models import ProductPhoto
from catalog.services import DuplicatePhoto, photo_add
from catalog.tests import images

pytestmark = pytest.mark.django_db


def stored_files() -> set[str]:
    found = set()
    for folder in ("photos", "thumbs"):
        if default_storage.exists(folder):
            found |= {f"{folder}/{name}" for name in default_storage.listdir(folder)[1]}
    return found


def reject(product, data: bytes, name: str = "photo.png") -> str:
    before = stored_files()
    with pytest.raises(ValidationError) as info:
        photo_add(product=product, data=data, name=name)
    assert not ProductPhoto.objects.exists(), "a rejected file must leave no row"
    assert stored_files() == before, "a rejected file must leave no file"
    return " ".join(info.value.messages)


def accept(product, data: bytes, name: str = "photo.png"):
    photo, notes = photo_add(product=product, data=data, name=name)
    with photo.image.open("rb") as handle:
        stored = Image.open(handle)
        stored.load()
    assert stored.format == "PNG" and stored.mode == "RGB"
    return photo, stored, notes


def test_decompression_bomb_is_refused_before_decoding(product):
    # a 1x1 PNG whose header declares 30000x30000: decoding it would need 900 MP of memory
    message = reject(product, images.png_with_declared_size(30000, 30000))
    assert message == "The image is 900 megapixels; the limit is 40 megapixels. Resize it first."


def test_size_just_over_the_cap_is_refused_too(product):
    assert reject(product, images.png_with_declared_size(8000, 6000)) == (
        "Image is 8000x6000 px (48 megapixels); the limit is 40 megapixels. Resize it first."
    )


def test_pixel_cap_counts_real_images_too(product, settings):
    settings.SDSTUDIO_UPLOAD_MAX_PIXELS = 100 * 100
    assert "Image is 101x100 px (0.01 megapixels); the limit is 0.01 megapixels" in reject(product, images.encode(Image.new("RGB", (101, 100))))


def test_truncated_file_is_refused(product):
    data = images.encode(images.product_like((300, 300)), "JPEG", quality=90)
    assert "truncated or corrupt" in reject(product, data[: len(data) // 2], "cut.jpg")


def test_empty_file_is_refused(product):
    assert reject(product, b"", "empty.png").startswith("The file is empty")


def test_oversized_file_is_refused(product, settings):
    settings.SDSTUDIO_UPLOAD_MAX_BYTES = 1000
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert "the limit is 1000\xa0bytes" in reject(product, images.encode(noise))


def test_text_file_named_png_is_refused(product):
    assert "not a JPEG, PNG or WebP image" in reject(product, b"<html><script>alert(1)</script></html>", "evil.png")


def test_gif_and_bmp_are_not_in_the_allowlist(product):
    assert "not a JPEG, PNG or WebP" in reject(product, images.encode(images.product_like(), "GIF"), "a.gif")
    assert "not a JPEG, PNG or WebP" in reject(product, images.encode(images.product_like(), "BMP"), "a.png")


def test_wrong_extension_is_decided_from_the_content(product):
    photo, stored, _ = accept(product, images.encode(images.product_like(), "PNG"), "really-a-png.jpg")
    assert photo.original_format == "PNG" and photo.image.name.endswith(".png")


def test_cmyk_jpeg_becomes_rgb(product):
    photo, stored, _ = accept(product, images.encode(images.product_like().convert("CMYK"), "JPEG", quality=95), "cmyk.jpg")
    red = stored.getpixel((5, 5))
    assert red[0] > 150 and red[1] < 80 and red[2] < 80


def test_exif_orientation_6_is_applied(product):
    # given a 120x80 JPEG whose EXIF says "rotate 90° clockwise to display"
    photo, stored, _ = accept(product, images.jpeg_with_orientation(6), "portrait.jpg")
    # then it is stored upright: 80x120, the red block now top-right
    assert (photo.width, photo.height) == (80, 120) == stored.size
    assert stored.getpixel((75, 5))[0] > 150 and stored.getpixel((5, 5))[0] > 200 and stored.getpixel((5, 5))[1] > 200


def test_rgba_is_flattened_on_white(product):
    rgba = Image.new("RGBA", (64, 64), (0, 0, 255, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 32, 64))
    _, stored, _ = accept(product, images.encode(rgba))
    assert stored.getpixel((50, 10)) == (255, 255, 255) and stored.getpixel((10, 10)) == (255, 0, 0)


def test_palette_with_transparency_and_la(product):
    palette = Image.new("P", (40, 40), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    _, stored, _ = accept(product, images.encode(palette, transparency=1))
    assert stored.getpixel((3, 3)) == (255, 255, 255)
    _, stored, _ = accept(product, images.encode(Image.new("LA", (40, 40), (10, 255))))
    assert stored.getpixel((3, 3)) == (10, 10, 10)


def test_16_bit_greyscale_is_scaled_to_8_bit(product):
    array = np.full((50, 50), 65535, dtype=np.uint16)
    array[:, :25] = 32768
    image = Image.fromarray(array)
    assert image.mode.startswith("I")
    _, stored, _ = accept(product, images.encode(image))
    assert stored.getpixel((40, 10)) == (255, 255, 255)
    assert stored.getpixel((10, 10))[0] in (127, 128)


def test_animated_png_is_reduced_to_its_first_frame_and_says_so(product):
    photo, stored, notes = accept(product, images.animated_png(3), "spin.png")
    assert notes == ["Animated image: only the first of its 3 frames was kept."]
    assert stored.getpixel((5, 5)) == (0, 0, 0)


def test_polyglot_png_html_is_stored_re_encoded_without_the_payload(product):
    payload = b"<html><body><script>alert(document.cookie)</script></body></html>"
    photo, stored, _ = accept(product, images.encode(images.product_like()) + payload, "poly.png")
    with photo.image.open("rb") as handle:
        assert b"<script" not in handle.read()


def test_path_traversal_filename_is_never_a_path(product):
    photo, _, _ = accept(product, images.encode(images.product_like()), "../../../etc/cron.d/evil.png")
    assert photo.original_name == "evil.png"
    assert photo.image.name.startswith("photos/") and ".." not in photo.image.name
    assert default_storage.path(photo.image.name).startswith(str(default_storage.location))


def test_same_photo_twice_on_a_product_is_recognised(product):
    data = images.encode(images.product_like())
    first, _ = photo_add(product=product, data=data, name="a.png")
    before = stored_files()
    # the same pixels in another container are the same photo
    with pytest.raises(DuplicatePhoto) as info:
        photo_add(product=product, data=images.encode(images.product_like(), "WEBP", lossless=True), name="b.webp")
    assert info.value.existing == first and f"photo #{first.pk}" in info.value.messages[0]
    assert stored_files() == before and ProductPhoto.objects.count() == 1


def test_hash_and_dimensions_are_recorded(product):
    photo, stored, _ = accept(product, images.encode(images.product_like((120, 80))))
    from catalog.intake import pixels_sha256

    assert (photo.width, photo.height) == (120, 80)
    assert photo.sha256 == pixels_sha256(stored)
    assert photo.thumbnail.name.startswith("thumbs/")


def test_a_phones_heic_photo_goes_through_the_same_intake(db):
    """HEIC/HEIF as phones take them (pillow-heif), checked and normalised like any other photo."""
    import io

    import pillow_heif
    from PIL import Image

    from catalog.intake import clean_photo

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (30, 160, 40)).save(buffer, format="HEIF", quality=95)
    data = buffer.getvalue()
    assert data[4:12] == b"ftypheic"  # a real HEIC container, as an iPhone writes
    clean = clean_photo(data, name="IMG_0001.HEIC")
    assert clean.original_format == "HEIF" and clean.image.size == (96, 64) and clean.image.mode == "RGB"
    red, green, blue = clean.image.getpixel((48, 32))
    assert green > 120 and red < 80 and blue < 90  # lossy, but the colour survives
    stored = Image.open(io.BytesIO(clean.png))
    assert stored.format == "PNG"  # stored re-encoded, like every photo
