"""Catalog in and out: CSV import with per-row errors and no partial rows; the approved-images feed."""
from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.demo_data import DEMO_PHOTO
from catalog.models import Product, ProductPhoto
from catalog.tests.images import encode, png_with_declared_size, product_like
from conftest import finished_job

pytestmark = pytest.mark.django_db


def test_import_reports_bad_rows_and_keeps_no_partial_row(tmp_path):
    (tmp_path / "ok.png").write_bytes(encode(product_like()))
    (tmp_path / "bomb.png").write_bytes(png_with_declared_size(30000, 30000))
    (tmp_path / "catalog.csv").write_text(
        "sku,name,description,category,photo\n"
        "HP-1,Headphones,Over-ear,Audio,ok.png\n"
        "HP-2,Speaker,,Audio,\n"
        ",Nameless,,,\n"
        "HP-3,Bomb,,Audio,bomb.png\n"
        "HP-4,Missing photo,,Audio,nowhere.png\n"
        "HP-1,Headphones v2,Over-ear,Audio,ok.png\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 row\\(s\\) rejected"):
        call_command("import_catalog", str(tmp_path / "catalog.csv"), stderr=err)
    messages = err.getvalue()
    assert "line 4: the sku column is empty." in messages
    assert "line 5: The image is 900 megapixels" in messages
    assert "line 6: photo file nowhere.png not found." in messages
    # rows with errors left nothing behind (no product without its photo)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["HP-1", "HP-2"]
    assert Product.objects.get(sku="HP-1").name == "Headphones v2"
    assert ProductPhoto.objects.count() == 1  # the same photo twice was recognised


def test_feed_lists_approved_images_per_sku(client, reviewer, product):
    first = finished_job(product=product)
    second = finished_job(product=product, seed=7)
    finished_job(product=product, seed=8)  # not approved: not in the feed
    from evaluation.services import decision_record

    for job in (first, second):
        decision_record(job=job, user=reviewer, decision="approved")
    client.force_login(reviewer)
    response = client.get(reverse("catalog:approved_feed"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["id", "image_link", "additional_image_link"]
    first.refresh_from_db()
    second.refresh_from_db()
    # public links (no login needed by the shop), not the login-protected /media/ address
    assert rows[1][0] == product.sku and rows[1][1] == f"http://testserver/p/{first.public_token}.png"
    assert rows[1][2] == f"http://testserver/p/{second.public_token}.png"
    assert len(rows) == 2


def test_product_pages_search_and_create(client, merchandiser, product):
    client.force_login(merchandiser)
    assert product.sku in client.get(reverse("catalog:product_list"), {"q": "headph"}).content.decode()
    assert product.sku not in client.get(reverse("catalog:product_list"), {"q": "zzz"}).content.decode()
    response = client.post(reverse("catalog:product_create"), {"sku": product.sku, "name": "dup"})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_bad_upload_is_a_400_with_the_reason_and_nothing_stored(client, merchandiser, product):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(merchandiser)
    response = client.post(
        reverse("catalog:photo_upload", args=[product.sku]),
        {"photo": SimpleUploadedFile("x.png", b"GIF89a not really", content_type="image/png")},
    )
    assert response.status_code == 400
    assert "not a JPEG, PNG or WebP image" in response.content.decode()
    assert not ProductPhoto.objects.exists()
    ok = client.post(reverse("catalog:photo_upload", args=[product.sku]),
                     {"photo": SimpleUploadedFile("h.png", DEMO_PHOTO.read_bytes(), content_type="image/png")})
    assert ok.status_code == 302 and ProductPhoto.objects.count() == 1
