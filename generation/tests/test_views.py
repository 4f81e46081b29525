"""The job form, the job page's progress endpoint and the gallery, through Django's test client."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.demo_data import DEMO_PHOTO
from conftest import finished_job
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db

FORM = {"mode": "text2img", "prompt": "sleek black wireless headphones", "negative_prompt": "", "seed": "42",
        "num_inference_steps": "30", "guidance_scale": "7.5", "scheduler": "euler_a", "width": "512", "height": "512",
        "strength": "", "variants": "1"}


@pytest.fixture
def merch_client(client, merchandiser):
    client.force_login(merchandiser)
    return client


def post(client, **changes):
    return client.post(reverse("generation:job_create"), {**FORM, **changes})


def test_form_starts_from_the_briefs_baseline(merch_client):
    page = merch_client.get(reverse("generation:job_create")).content.decode()
    for fragment in ('name="num_inference_steps" value="30"', 'name="guidance_scale" value="7.5"', 'value="euler_a" selected', 'name="width" value="512"'):
        assert fragment in page, fragment


def test_valid_form_creates_a_job_and_opens_its_page(merch_client, merchandiser):
    response = post(merch_client)
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert (job.seed, job.num_inference_steps, job.created_by) == (42, 30, merchandiser)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"width": "500"}, "500 is not a multiple of 8; try 496 or 504."),
        ({"num_inference_steps": "0"}, "greater than or equal to 1"),
        ({"prompt": ""}, "This field is required."),
        ({"mode": "img2img", "strength": "0.6"}, "needs a source photo"),
        ({"scheduler": "karras"}, "Select a valid choice"),
    ],
)
def test_invalid_form_is_a_400_with_field_errors_and_no_job(merch_client, changes, fragment):
    response = post(merch_client, **changes)
    assert response.status_code == 400
    assert fragment in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_variants_get_consecutive_seeds_and_blank_seed_is_drawn(merch_client):
    post(merch_client, variants="3", seed="100")
    assert sorted(GenerationJob.objects.values_list("seed", flat=True)) == [100, 101, 102]
    GenerationJob.objects.all().delete()
    post(merch_client, seed="")
    assert GenerationJob.objects.get().seed is not None


def test_img2img_with_an_uploaded_photo_adds_it_to_the_product(merch_client, product):
    upload = SimpleUploadedFile("headphones.png", DEMO_PHOTO.read_bytes(), content_type="image/png")
    response = merch_client.post(reverse("generation:job_create"), {**FORM, "mode": "img2img", "strength": "0.6", "product": product.sku, "upload": upload})
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert job.mode == "img2img" and job.strength == 0.6 and job.source_photo.product == product


def test_img2img_with_a_bad_upload_says_why(merch_client, product):
    upload = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = merch_client.post(reverse("generation:job_create"), {**FORM, "mode": "img2img", "strength": "0.6", "product": product.sku, "upload": upload})
    assert response.status_code == 400 and not GenerationJob.objects.exists()


def test_progress_endpoint_reports_steps_and_eta(merch_client):
    from django.utils import timezone

    job = GenerationJob.objects.create(prompt="x", seed=1, status="running", progress_step=10, progress_total=30,
                                       started_at=timezone.now() - timezone.timedelta(seconds=5))
    data = merch_client.get(reverse("generation:job_progress", args=[job.pk])).json()
    assert data["status"] == "running" and data["step"] == 10 and data["total"] == 30
    assert data["fraction"] == pytest.approx(1 / 3, abs=1e-3)
    assert data["elapsed"] >= 5 and data["eta"] == pytest.approx(data["elapsed"] * 2, rel=0.05)


def test_failed_job_page_shows_the_reason(merch_client):
    job = GenerationJob.objects.create(prompt="x", seed=1, status="failed", error="Timed out: the job ran past its 1800 s limit.")
    assert "Timed out: the job ran past its 1800 s limit." in merch_client.get(job.get_absolute_url()).content.decode()


def test_gallery_filters(merch_client, product):
    a = finished_job(product=product)
    b = finished_job(seed=9)
    GenerationJob.objects.filter(pk=b.pk).update(decision="approved")
    page = lambda **q: merch_client.get(reverse("generation:job_list"), q).content.decode()  # noqa: E731
    assert f"#{a.pk}" in page(product=product.sku) and f"#{b.pk}" not in page(product=product.sku)
    assert f"#{b.pk}" in page(decision="approved") and f"#{a.pk}" not in page(decision="approved")
    assert f"#{a.pk}" in page(decision="pending") and f"#{b.pk}" not in page(decision="pending")


@pytest.mark.parametrize("url_name", ["generation:job_list", "catalog:product_list", "evaluation:queue", "home"])
def test_list_pages_use_a_bounded_number_of_queries(client, admin_user, product, django_assert_max_num_queries, url_name):
    from catalog.models import Product

    for i in range(3):
        Product.objects.create(sku=f"P{i}", name=f"Product {i}")
        finished_job(product=product, seed=i)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12) as small:
        client.get(reverse(url_name))
    for i in range(3, 30):
        Product.objects.create(sku=f"P{i}", name=f"Product {i}")
        finished_job(product=product, seed=i)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse(url_name))


def test_product_page_queries_do_not_grow_with_jobs(client, admin_user, product, photo, django_assert_max_num_queries):
    finished_job(product=product)
    client.force_login(admin_user)
    with django_assert_max_num_queries(15) as small:
        client.get(product.get_absolute_url())
    for seed in range(20):
        finished_job(product=product, seed=seed, mode="img2img", source_photo=photo, strength=0.5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(product.get_absolute_url())


def test_failed_job_can_be_retried_by_its_owner(merch_client, merchandiser, django_capture_on_commit_callbacks):
    job = GenerationJob.objects.create(prompt="x", seed=1, status="failed", error="CUDA out of memory", created_by=merchandiser)
    assert 'id="retry-button"' in merch_client.get(job.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        merch_client.post(reverse("generation:job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "queued" and job.error == "" and len(callbacks) == 1


def test_progress_of_a_queued_job_says_whether_workers_are_online(merch_client, redis_conn):
    job = GenerationJob.objects.create(prompt="x", seed=1)
    assert merch_client.get(reverse("generation:job_progress", args=[job.pk])).json()["workers_online"] == 0


def test_progress_survives_redis_being_down(merch_client, redis_server):
    redis_server.stop()
    try:
        job = GenerationJob.objects.create(prompt="x", seed=1)
        assert merch_client.get(reverse("generation:job_progress", args=[job.pk])).json()["workers_online"] is None
    finally:
        redis_server.start()


def test_review_queue_queries_do_not_grow_with_source_photos_and_reruns(client, reviewer, product, photo, django_assert_max_num_queries):
    def add(count: int, start: int) -> None:
        for seed in range(start, start + count):
            original = finished_job(product=product, seed=seed, mode="img2img", source_photo=photo, strength=0.5)
            rerun = finished_job(product=product, seed=seed, mode="img2img", source_photo=photo, strength=0.5)
            GenerationJob.objects.filter(pk=rerun.pk).update(rerun_of=original, rerun_result="identical")

    add(2, 0)
    client.force_login(reviewer)
    with django_assert_max_num_queries(15) as small:
        page = client.get(reverse("evaluation:queue")).content.decode()
    assert "re-run of #" in page and "not scored yet" in page
    add(8, 100)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("evaluation:queue"))


@pytest.mark.parametrize("text", [
    "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background, studio lighting",
    "Red MUG!! on   oak, 4k   HDR",
    "studio lighting, sharp focus, " * 20,  # past CLIP's 75
])
def test_the_token_counter_counts_like_the_models_tokenizer(client, merchandiser, text):
    from transformers import CLIPTokenizerFast

    from generation import tokencount

    expected = len(CLIPTokenizerFast.from_pretrained(str(tokencount.tokenizer_folder()))(text, add_special_tokens=False).input_ids)
    client.force_login(merchandiser)
    data = client.get(reverse("generation:prompt_tokens"), {"text": text}).json()
    assert data["count"] == expected and data["limit"] == 75 and data["over"] == (expected > 75)
    if data["over"]:
        assert data["ignored"] and text.rstrip().endswith(data["ignored"][-20:].rstrip())


def test_the_token_counter_reads_a_slow_tokenizers_files_as_clip_does(tmp_path, settings):
    """SD v1.5 ships vocab.json + merges.txt: the counter builds CLIP's pipeline from them (checked against transformers)."""
    from transformers import CLIPTokenizer

    from generation import tokencount, vocabulary, wordpieces

    folder = tmp_path / "model" / "tokenizer"
    folder.mkdir(parents=True)
    wordpieces.write_tokenizer_files(folder, vocabulary.vocabulary_text())
    (tmp_path / "model" / "model_index.json").write_text("{}")
    settings.SDSTUDIO_MODEL = str(tmp_path / "model")
    slow = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    for text in ["product shot of a red mug on a wooden table", "Blue  SNEAKER, studio lighting!", "watch 12 on marble"]:
        assert tokencount.count(text)["count"] == len(slow(text, add_special_tokens=False).input_ids), text


def test_the_embedded_model_names_the_words_it_does_not_know(merch_client, settings, tmp_path):
    from generation import modelinfo

    assert modelinfo.is_embedded()  # the tests' default model
    page = merch_client.get(reverse("generation:job_create")).content.decode()
    assert 'id="model-words"' in page and "wooden table" in page and "wireless headphones" in page
    data = merch_client.get(reverse("generation:prompt_tokens"),
                            {"text": "Red water bottle on a GRANITE shelf, 4k, granite look 2"}).json()
    assert data["unknown"] == ["granite", "look"]  # each once, in order; case and numbers aside
    for known in ("product shot of sleek black wireless headphones on a minimalist gray background, studio lighting",
                  "Green trainers on a concrete floor", "wooden table with a red mug on it"):  # a shop's own phrasing
        assert merch_client.get(reverse("generation:prompt_tokens"), {"text": known}).json()["unknown"] == [], known
    # and says what caption the trained model is given for a shop's sentence (none for one in its grammar already)
    read = merch_client.get(reverse("generation:prompt_tokens"), {"text": "Green trainers on a concrete floor"}).json()
    assert read["read_as"] == "product shot of green sneaker on a gray background, studio lighting"
    assert merch_client.get(reverse("generation:prompt_tokens"), {"text": "product shot of red mug on a wooden table"}).json()["read_as"] == ""
    # a scene is given its prompt as typed; an unknown mode is no reason for a 400 on a counter
    for mode, read_as in (("scene", ""), ("img2img", read["read_as"]), ("nonsense", read["read_as"])):
        got = merch_client.get(reverse("generation:prompt_tokens"), {"text": "Green trainers on a concrete floor", "mode": mode})
        assert got.status_code == 200 and got.json()["read_as"] == read_as, mode
    # SD v1.5 (a model folder of its own) reads any word: no list, no unknown words
    (tmp_path / "sd15" / "tokenizer").mkdir(parents=True)
    settings.SDSTUDIO_MODEL = str(tmp_path / "sd15")
    assert not modelinfo.is_embedded()
    assert 'id="model-words"' not in merch_client.get(reverse("generation:job_create")).content.decode()


def test_the_job_form_searches_products_instead_of_listing_them_all(client, merchandiser, product, photo):
    from catalog.models import Product

    Product.objects.bulk_create([Product(sku=f"BULK-{i:04d}", name=f"Bulk product {i}") for i in range(2000)])
    client.force_login(merchandiser)
    page = client.get(reverse("generation:job_create")).content.decode()
    assert "BULK-0001" not in page and len(page) < 64_000  # 2,000 products do not travel with the form
    found = client.get(reverse("catalog:product_search"), {"q": "bulk product 19"}).json()["results"]
    assert 1 <= len(found) <= 20 and all("19" in r["name"] for r in found)
    assert client.get(reverse("catalog:product_search"), {"q": "Black head"}).json()["results"] == [
        {"sku": product.sku, "name": product.name}]
    photos = client.get(reverse("catalog:product_photos", args=[product.sku])).json()["photos"]
    assert [p["id"] for p in photos] == [photo.pk]
    response = client.post(reverse("generation:job_create"), {"mode": "text2img", "prompt": "x", "product": "NO-SUCH",
                                                              "num_inference_steps": 2, "guidance_scale": 7.5, "scheduler": "euler_a",
                                                              "width": 64, "height": 64, "variants": 1})
    assert response.status_code == 400 and "No product has the SKU NO-SUCH" in response.content.decode()


def test_a_bad_upload_on_the_job_form_gets_the_intakes_sentence_only(client, merchandiser, product):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(merchandiser)
    response = client.post(reverse("generation:job_create"), {
        "mode": "img2img", "prompt": "on marble", "product": product.sku, "strength": 0.6, "num_inference_steps": 2,
        "guidance_scale": 7.5, "scheduler": "euler_a", "width": 64, "height": 64, "variants": 1,
        "upload": SimpleUploadedFile("photo.jpg", b"this is not a photo", "image/jpeg")})
    page = response.content.decode()
    assert response.status_code == 400 and "not a JPEG, PNG or WebP image" in page
    assert "needs a source photo" not in page and "Upload a valid image" not in page
    assert GenerationJob.objects.count() == 0
