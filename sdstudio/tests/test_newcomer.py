"""What a newcomer meets first: words that explain themselves, the study in the brief's order, forms that say what they need."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from conftest import finished_job, login, shot
from generation.experiments import run_order


def test_the_study_reads_in_the_briefs_run_order_whatever_the_mode_prefix():
    names = ["i2i_run07_strength035", "scene_run10_keep_product", "t2i_run02_steps15", "t2i_run01_baseline",
             "i2i_run09_strength085", "t2i_run06_ddim", "seed_10", "seed_2"]
    assert sorted(names, key=run_order) == ["t2i_run01_baseline", "t2i_run02_steps15", "t2i_run06_ddim", "i2i_run07_strength035",
                                            "i2i_run09_strength085", "scene_run10_keep_product", "seed_2", "seed_10"]


@pytest.mark.django_db
def test_the_study_page_lists_runs_1_to_10_and_says_what_its_figures_mean(client, merchandiser, redis_server):
    import re

    from generation.models import Experiment

    call_command("seed_tp_experiments", stdout=open("/dev/null", "w"))
    experiment = Experiment.objects.get()
    client.force_login(merchandiser)
    page = client.get(experiment.get_absolute_url()).content.decode()
    runs = re.findall(r'data-run="[a-z0-9]+_run(\d\d)', page)
    assert runs == [f"{n:02d}" for n in range(1, 11)], runs


@pytest.mark.django_db
def test_the_job_form_explains_guidance_steps_and_the_scheduler(client, merchandiser):
    client.force_login(merchandiser)
    page = client.get("/jobs/new/").content.decode()
    assert "Classifier-free guidance: how strictly the image follows the prompt" in page
    assert "Euler ancestral (the brief&#x27;s EulerA)" in page and "Denoising steps from noise to image" in page


@pytest.mark.django_db
def test_figures_carry_plain_words(client, merchandiser, photo):
    client.force_login(merchandiser)
    i2i = finished_job(mode="img2img", source_photo=photo, strength=0.6, fidelity_ssim=0.71, fidelity_phash_distance=12)
    page = client.get(i2i.get_absolute_url()).content.decode()
    assert "SSIM 0.710 (structural similarity: 1 = the same image)" in page and "(0 = alike, above 20 different pictures)" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reruns_verdict_is_above_the_fold_at_1280x800(page, live_server, admin_user):
    admin_user.set_password("pass-for-tests-1")
    admin_user.save()
    original = finished_job()
    rerun = finished_job(rerun_of=original, rerun_result="identical", rerun_max_pixel_diff=0)
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, admin_user.username)
    page.goto(live_server.url + rerun.get_absolute_url())
    box = page.locator("#rerun-result").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800, box
    assert "identical pixels" in page.locator("#rerun-result").inner_text()
    shot(page, "rerun-verdict-1280x800")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_scene_mode_the_form_needs_a_product_and_fills_its_photos_as_it_is_picked(page, live_server, merchandiser, photo):
    login(page, live_server, "merch")
    page.goto(live_server.url + "/jobs/new/")
    product_row = page.locator(".field-product")
    assert "required" not in (product_row.get_attribute("class") or "")  # text2img: optional
    page.check("input[name=mode][value=scene]")
    assert "required" in product_row.get_attribute("class") and page.locator("#id_product").evaluate("el => el.required")
    assert "(required)" in page.evaluate("getComputedStyle(document.querySelector('.field-product label'), '::after').content")
    # typing the SKU fills Source photo at once, while the field still has the focus
    page.locator("#id_product").press_sequentially(photo.product.sku, delay=30)
    page.locator(f"#id_source_photo option[value='{photo.pk}']").wait_for(state="attached")
    assert page.evaluate("document.activeElement.id") == "id_product"
    shot(page, "job-form-scene-required-product")


def test_make_clean_removes_what_the_readme_makes_and_git_ignores_it():
    import subprocess

    from sdstudio.tests.test_deploy import ROOT

    dry = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    removed = dry.split("rm -rf", 1)[1].split()
    for path in ("reports", ".pytest_cache", ".hypothesis", "var", "media", ".venv"):
        assert path in removed, path
    ignored = subprocess.run(["git", "check-ignore", "reports/study.zip", ".hypothesis/x", ".pytest_cache/x"], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert ignored == ["reports/study.zip", ".hypothesis/x", ".pytest_cache/x"]


def test_the_readme_says_what_the_brief_is_and_what_pip_downloads():
    from sdstudio.tests.test_deploy import ROOT

    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "CUDA build of PyTorch (about 3 GB" in quick_start and "--index-url https://download.pytorch.org/whl/cpu" in quick_start
    assert "The brief is" in readme.split("## Quick start", 1)[0]
