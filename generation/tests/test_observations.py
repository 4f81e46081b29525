"""The study says what it shows: sentences written from its own figures, on its page and in its report."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from generation import pngmeta
from generation.experiments import comparison, svg_chart
from generation.models import Experiment, GenerationJob

pytestmark = pytest.mark.django_db


def finish(job: GenerationJob, grey: int, **figures) -> None:
    """The job as if a worker had made a flat grey image with these figures."""
    image = Image.new("RGB", (64, 64), (grey, grey, grey))
    name = default_storage.save(f"outputs/test/job{job.pk}.png", ContentFile(pngmeta.encode_png(image, job.parameters())))
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", output=name, finished_at=timezone.now(),
                                                   width=64, height=64, **figures)


def study(greys: dict[str, int], seconds: dict[str, float], ssim: dict[str, float]) -> Experiment:
    call_command("seed_tp_experiments", force=True, stdout=io.StringIO())
    experiment = Experiment.objects.order_by("-id").first()
    for job in experiment.jobs.all():
        run = job.run_name.split("_", 2)[1] + "_" + job.run_name.split("_", 2)[2]
        figures = {"inference_seconds": seconds.get(run, 3.0)}
        figures["seconds_per_step"] = figures["inference_seconds"] / job.num_inference_steps
        if job.mode == "img2img":
            figures.update(fidelity_ssim=ssim[run], fidelity_phash_distance=4 if ssim[run] > 0.5 else 30)
        finish(job, greys.get(run, 100), **figures)
    return experiment


def sentences(experiment: Experiment) -> dict[str, list[str]]:
    return dict(comparison(experiment)["observations"])


def test_two_studies_with_other_figures_read_differently_on_the_page_and_in_the_report(client, merchandiser, redis_server):
    # given two studies: in the first, 15 steps changes the image a lot and 50 steps hardly; in the second the reverse
    first = study({"run02_steps15": 140, "run03_steps50": 101, "run04_guid4": 110, "run05_guid12": 104, "run06_ddim": 100},
                  {"run01_baseline": 3.0, "run02_steps15": 1.5, "run03_steps50": 5.0},
                  {"run07_strength035": 0.9, "run08_strength060": 0.62, "run09_strength085": 0.3})
    second = study({"run02_steps15": 101, "run03_steps50": 150, "run04_guid4": 100, "run05_guid12": 100, "run06_ddim": 130},
                   {"run01_baseline": 3.0, "run02_steps15": 2.8, "run03_steps50": 9.0},
                   {"run07_strength035": 0.8, "run08_strength060": 0.78, "run09_strength085": 0.77})
    a, b = sentences(first), sentences(second)
    # then each theme is there, written from its own figures
    assert list(a) == ["Steps", "Guidance", "Scheduler", "Strength: what img2img keeps and changes"]
    assert a != b
    assert "At steps 15 (baseline 30) the image differs from the baseline's by a large colour difference" in a["Steps"][0]
    assert "At steps 50 (baseline 30) the image differs from the baseline's by a not noticeable colour difference" in a["Steps"][1]
    assert "Steps 15 moves the image further from the baseline than 50 does" in a["Steps"][2]
    assert "Steps 50 moves the image further from the baseline than 15 does" in b["Steps"][2]
    assert "0.50x the time for 0.50x the steps (in proportion to the steps)" in a["Steps"][3]
    assert "0.93x the time for 0.50x the steps (more than the steps)" in b["Steps"][3]
    assert "not noticeable" in a["Scheduler"][0] and "large" in b["Scheduler"][0]
    strength_a, strength_b = a["Strength: what img2img keeps and changes"], b["Strength: what img2img keeps and changes"]
    assert "the photo is kept" in strength_a[0] and "little of the photo is kept" in strength_a[2]
    assert "likeness to the photo falls (SSIM 0.90 to 0.30)" in strength_a[3]
    assert all("little of the photo" not in s for s in strength_b)
    # and the page and the exported report carry them
    client.force_login(merchandiser)
    page = client.get(first.get_absolute_url()).content.decode()
    assert 'id="observations"' in page and "Steps 15 moves the image further from the baseline than 50 does" in page
    report = client.get(f"/experiments/{first.pk}/report.zip")
    with zipfile.ZipFile(io.BytesIO(b"".join(report.streaming_content) if report.streaming else report.content)) as archive:
        markdown = archive.read(next(n for n in archive.namelist() if n.endswith(".md"))).decode()
    assert "## Observations" in markdown and "### Steps" in markdown and "Steps 15 moves the image further" in markdown


def test_a_chart_axis_follows_its_data():
    svg = svg_chart([(0.35, 0.81), (0.6, 0.74), (0.85, 0.69)], x_label="strength", y_label="SSIM to source")
    ticks = [part.split(">", 1)[1].split("<", 1)[0] for part in svg.split('class="tick"')[1:]]
    # the axis spans the data (0.69 to 0.81) padded by a tenth of its range, not 0 to 0.81
    assert ticks == ["0.822", "0.678"]
