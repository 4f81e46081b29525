"""The brief's study end to end on the embedded model: seeding, a real worker, the pages and the report."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from generation.models import Experiment, GenerationJob

BRIEF = {
    # run name: (mode, steps, guidance, scheduler, strength)
    "t2i_run01_baseline": ("text2img", 30, 7.5, "euler_a", None),
    "t2i_run02_steps15": ("text2img", 15, 7.5, "euler_a", None),
    "t2i_run03_steps50": ("text2img", 50, 7.5, "euler_a", None),
    "t2i_run04_guid4": ("text2img", 30, 4.0, "euler_a", None),
    "t2i_run05_guid12": ("text2img", 30, 12.0, "euler_a", None),
    "t2i_run06_ddim": ("text2img", 30, 7.5, "ddim", None),
    "i2i_run07_strength035": ("img2img", 30, 7.5, "euler_a", 0.35),
    "i2i_run08_strength060": ("img2img", 30, 7.5, "euler_a", 0.60),
    "i2i_run09_strength085": ("img2img", 30, 7.5, "euler_a", 0.85),
}
# Beside the brief's nine: the scene that keeps the product (same prompt, seed 42).
STUDY = {**BRIEF, "scene_run10_keep_product": ("scene", 30, 7.5, "euler_a", None)}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_briefs_study_runs_and_reports(burst_worker, client, reviewer, tmp_path, capsys):
    # when the study is seeded (twice: the second time changes nothing) and a real worker runs it
    call_command("seed_tp_experiments")
    call_command("seed_tp_experiments")
    assert Experiment.objects.count() == 1 and GenerationJob.objects.count() == 10
    burst_worker(timeout=900)
    experiment = Experiment.objects.get()
    jobs = {job.run_name: job for job in experiment.jobs.all()}
    # then every job has the brief's parameters and succeeded
    assert set(jobs) == set(STUDY)
    for name, (mode, steps, guidance, scheduler, strength) in STUDY.items():
        job = jobs[name]
        assert (job.mode, job.num_inference_steps, job.guidance_scale, job.scheduler, job.strength) == (mode, steps, guidance, scheduler, strength), name
        assert (job.prompt, job.seed, job.width, job.height) == (
            "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background, "
            "studio lighting, sharp focus, professional e-commerce photography", 42, 512, 512)
        assert job.status == "succeeded", (name, job.error)
        assert job.inference_seconds > 0
    # fidelity falls as strength rises (the brief's "too far" risk)
    ssim = [jobs[n].fidelity_ssim for n in ("i2i_run07_strength035", "i2i_run08_strength060", "i2i_run09_strength085")]
    assert ssim[0] > ssim[1] > ssim[2]
    # and the scene kept every pixel of the product while its surroundings changed
    scene = jobs["scene_run10_keep_product"]
    assert scene.product_max_pixel_diff == 0 and scene.background_change > 0
    # and the side-by-side page shows the grid with the changed parameter highlighted
    from evaluation.services import evaluation_submit

    evaluation_submit(job=jobs["t2i_run01_baseline"], user=reviewer, justification="- balanced reference",
                      scores={"prompt_adherence": 2, "visual_realism": 2, "artifacts": 2, "ecommerce_usability": 2, "reproducibility": 2})
    client.force_login(reviewer)
    page = client.get(experiment.get_absolute_url()).content.decode()
    assert page.count('data-run="t2i_') == 6 and page.count('data-run="i2i_') == 3 and page.count('data-run="scene_') == 1
    assert "product pixels identical" in page
    assert '<span class="changed">15 steps</span>' in page
    # each of the five runs that changed a parameter says how far its image is from the baseline's
    assert page.count(" from the baseline (") == 5
    # and on the trained embedded model the study shows what the brief describes: guidance 4 and 12 change the
    # image visibly (mean CIEDE2000 above 2, twice the just-noticeable difference the formula is scaled to);
    # 15 steps is not finished (far from the 30-step image) where 50 steps has converged close to it
    from generation.experiments import comparison

    changed = {row["job"].run_name: row["vs_baseline"] for row in comparison(experiment)["rows"]}
    assert changed["t2i_run04_guid4"] > 2.0 and changed["t2i_run05_guid12"] > 2.0, changed
    assert changed["t2i_run02_steps15"] > 2 * changed["t2i_run03_steps50"], changed
    assert "Rubric 10.0/10" in page and "<svg" in page and "Before" in page
    # and the exported report holds the tables, the grids and every output with its metadata
    call_command("export_report", str(experiment.pk), out=tmp_path)
    archive = zipfile.ZipFile(next(tmp_path.glob("*.zip")))
    names = set(archive.namelist())
    assert {"report.md", "grid_t2i.png", "grid_i2i.png", "inputs/source.png"} <= names
    assert {f"outputs/{name}.png" for name in BRIEF} <= names
    report = archive.read("report.md").decode()
    assert r"| t2i\_run02\_steps15 | text2img | 15 | 7.5 | euler_a |" in report  # Markdown-escaped name
    assert r"| i2i\_run09\_strength085 | img2img | 30 | 7.5 | euler_a | 0.85 | 42 | 512x512 | succeeded |" in report
    assert r"| t2i\_run01\_baseline | reviewer | 2 | 2 | 2 | 2 | 2 | **10** |" in report
    assert "- balanced reference" in report and '"torch":' in report
    from PIL import Image

    output = Image.open(io.BytesIO(archive.read("outputs/i2i_run07_strength035.png")))
    assert "Denoising strength: 0.35" in output.text["parameters"]
    # the download button serves the same zip
    response = client.get(reverse("experiments:experiment_report", args=[experiment.pk]))
    assert response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == archive.namelist()


@pytest.mark.django_db
def test_force_queues_a_fresh_numbered_set(django_capture_on_commit_callbacks):
    call_command("seed_tp_experiments")
    call_command("seed_tp_experiments", force=True)
    names = list(Experiment.objects.order_by("id").values_list("name", flat=True))
    assert len(names) == 2 and names[1] == names[0] + " · #2"
    assert GenerationJob.objects.count() == 20


@pytest.mark.django_db
def test_sweep_from_a_job_in_the_ui(client, merchandiser):
    from conftest import finished_job

    job = finished_job(product=None)
    client.force_login(merchandiser)
    response = client.post(reverse("experiments:sweep_create", args=[job.pk]), {"parameter": "guidance_scale", "values": "4, 7.5, 12"})
    experiment = Experiment.objects.get()
    assert response.status_code == 302 and response["Location"] == experiment.get_absolute_url()
    swept = list(experiment.jobs.order_by("guidance_scale").values_list("guidance_scale", "seed", "num_inference_steps"))
    assert swept == [(4.0, 42, 2), (7.5, 42, 2), (12.0, 42, 2)]
    bad = client.post(reverse("experiments:sweep_create", args=[job.pk]), {"parameter": "guidance_scale", "values": "4, lots"}, follow=True)
    assert "must all be numbers" in bad.content.decode()
    assert Experiment.objects.count() == 1
