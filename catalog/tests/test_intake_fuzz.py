"""Property test of the photo intake on generated and mutated image bytes: a clear refusal or a decodable photo."""
from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from catalog.models import Product, ProductPhoto
from catalog.services import photo_add
from catalog.tests.images import encode

pytestmark = pytest.mark.django_db

FORMATS = {"PNG": {}, "JPEG": {"quality": 80}, "WEBP": {"quality": 80}, "GIF": {}, "TIFF": {}, "BMP": {}}


@st.composite
def image_bytes(draw) -> bytes:
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "CMYK", "1", "I;16"]))
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    image = Image.new(mode if mode != "I;16" else "I", (width, height), draw(st.integers(0, 255)))
    try:
        data = encode(image if mode != "I;16" else image.convert("I;16"), fmt, **FORMATS[fmt])
    except (OSError, ValueError, KeyError):
        data = encode(image.convert("RGB"), "PNG")
    # mutate: flip bytes, cut, or append
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    data += draw(st.binary(max_size=16))
    return bytes(data)


def assert_stored_photos_decode() -> None:
    for photo in ProductPhoto.objects.all():
        with photo.image.open("rb") as handle:
            image = Image.open(io.BytesIO(handle.read()), formats=["PNG"])
            image.load()
        assert image.mode == "RGB" and image.size == (photo.width, photo.height)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.one_of(image_bytes(), st.binary(max_size=300)))
def test_intake_never_crashes_and_never_stores_an_undecodable_file(product, data):
    try:
        photo_add(product=product, data=data, name="fuzz.png")
    except ValidationError as exc:
        assert exc.messages and all(message.endswith(".") for message in exc.messages)
    assert_stored_photos_decode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=image_bytes())
def test_upload_view_answers_4xx_or_redirect_never_500(client, merchandiser, data):
    product, _ = Product.objects.get_or_create(sku="FUZZ", defaults={"name": "Fuzz"})
    client.force_login(merchandiser)
    response = client.post(reverse("catalog:photo_upload", args=[product.sku]), {"photo": SimpleUploadedFile("f.png", data)})
    assert response.status_code in (302, 400)
    assert_stored_photos_decode()
