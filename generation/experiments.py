"""The brief's controlled study (and any sweep): plan, seed, compare side by side, report."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw

from generation import modelinfo, services
from generation.models import Experiment, GenerationJob, Mode, Status

TP2_PROMPT = (
    "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background, "
    "studio lighting, sharp focus, professional e-commerce photography"
)
TP2_BASELINE = {
    "prompt": TP2_PROMPT,
    "negative_prompt": "",
    "seed": 42,
    "width": 512,
    "height": 512,
    "num_inference_steps": 30,
    "guidance_scale": 7.5,
    "scheduler": "euler_a",
}


@dataclass(frozen=True)
class Run:
    name: str
    label: str
    changes: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return Mode.IMG2IMG if "strength" in self.changes else Mode.TEXT2IMG


# Exercise 3 (runs 01-06) and exercise 4 (runs 07-09), with the brief's file names.
TP2_RUNS = [
    Run("t2i_run01_baseline", "Baseline (30 steps, G=7.5, EulerA)"),
    Run("t2i_run02_steps15", "Low steps (15)", {"num_inference_steps": 15}),
    Run("t2i_run03_steps50", "High steps (50)", {"num_inference_steps": 50}),
    Run("t2i_run04_guid4", "Low guidance (4.0)", {"guidance_scale": 4.0}),
    Run("t2i_run05_guid12", "High guidance (12.0)", {"guidance_scale": 12.0}),
    Run("t2i_run06_ddim", "DDIM scheduler (30 steps, G=7.5)", {"scheduler": "ddim"}),
    Run("i2i_run07_strength035", "img2img strength 0.35", {"strength": 0.35}),
    Run("i2i_run08_strength060", "img2img strength 0.60", {"strength": 0.60}),
    Run("i2i_run09_strength085", "img2img strength 0.85", {"strength": 0.85}),
]


def tp2_experiment_name(product, *, index: int = 1) -> str:
    base = f"TP2 study · {product.sku} · {modelinfo.model_label()}"
    return base if index == 1 else f"{base} · #{index}"


@transaction.atomic
def tp2_seed(*, product, source_photo, created_by=None, force: bool = False) -> tuple[Experiment, bool]:
    """Create the brief's nine jobs for a product. Returns (experiment, created).

    Idempotent: the same product and model give back the existing study unless force=True,
    which queues a fresh numbered set.
    """
    existing = Experiment.objects.filter(kind="tp2", product=product, name__startswith=tp2_experiment_name(product)).order_by("-id")
    if existing.exists() and not force:
        return existing.first(), False
    experiment = Experiment.objects.create(
        name=tp2_experiment_name(product, index=existing.count() + 1),
        kind="tp2",
        product=product,
        created_by=created_by,
        description="The brief's controlled study: six text2img runs varying steps, guidance and scheduler; "
        "three img2img runs at strength 0.35 / 0.60 / 0.85 from the product photo.",
    )
    for run in TP2_RUNS:
        params = {**TP2_BASELINE, **run.changes}
        services.job_create(
            mode=run.mode,
            **params,
            product=product,
            source_photo=source_photo if run.mode == Mode.IMG2IMG else None,
            experiment=experiment,
            run_name=run.name,
            created_by=created_by,
        )
    return experiment, True


@transaction.atomic
def sweep_create(*, baseline: GenerationJob, parameter: str, values: list, created_by=None, name: str = "") -> Experiment:
    """Any other study: the baseline job's parameters with one of them swept over values."""
    allowed = {"num_inference_steps": int, "guidance_scale": float, "scheduler": str, "strength": float, "seed": int}
    if parameter not in allowed:
        raise ValidationError({"parameter": f"Sweep one of {', '.join(allowed)}."})
    if parameter == "strength" and baseline.mode != Mode.IMG2IMG:
        raise ValidationError({"parameter": "Strength sweeps need an img2img baseline."})
    if not values:
        raise ValidationError({"values": "Give at least one value to sweep."})
    try:
        values = [allowed[parameter](v) for v in values]
    except (TypeError, ValueError):
        raise ValidationError({"values": f"The values must all be {allowed[parameter].__name__}s."}) from None
    experiment = Experiment.objects.create(
        name=name or f"Sweep of {parameter} from job #{baseline.pk} ({timezone.now():%Y-%m-%d %H:%M:%S})",
        kind="sweep",
        product=baseline.product,
        created_by=created_by,
        description=f"Job #{baseline.pk}'s parameters with {parameter} in {values}.",
    )
    for value in values:
        params = {name: getattr(baseline, name) for name in services.PARAMETER_FIELDS}
        params[parameter] = value
        services.job_create(
            **params,
            product=baseline.product,
            source_photo=baseline.source_photo,
            experiment=experiment,
            run_name=slugify(f"{parameter}-{value}").replace("-", "_"),
            created_by=created_by,
        )
    return experiment


COMPARED = ("num_inference_steps", "guidance_scale", "scheduler", "strength", "seed", "width", "height", "mode")


def comparison(experiment: Experiment) -> dict:
    """Rows for the side-by-side page and the report, with what differs from the first run highlighted."""
    from evaluation.selectors import average_totals

    jobs = list(experiment.jobs.select_related("source_photo", "product").order_by("run_name", "id"))
    totals = average_totals([j.pk for j in jobs])
    baseline = next((j for j in jobs if j.mode == Mode.TEXT2IMG), jobs[0] if jobs else None)
    rows = []
    for job in jobs:
        changed = [name for name in COMPARED if baseline is not None and job.mode == baseline.mode and getattr(job, name) != getattr(baseline, name)]
        rows.append({"job": job, "changed": changed, "total": totals.get(job.pk)})
    text_rows = [r for r in rows if r["job"].mode == Mode.TEXT2IMG]
    image_rows = [r for r in rows if r["job"].mode == Mode.IMG2IMG]
    source = image_rows[0]["job"].source_photo if image_rows else None
    done = [r["job"] for r in rows if r["job"].status == Status.SUCCEEDED]
    return {
        "rows": rows,
        "text_rows": text_rows,
        "image_rows": image_rows,
        "source_photo": source,
        "finished": len(done),
        "total_jobs": len(rows),
        "time_chart": svg_chart(
            [(r["job"].num_inference_steps, r["job"].inference_seconds) for r in text_rows if r["job"].inference_seconds],
            x_label="steps", y_label="seconds",
        ),
        "fidelity_chart": svg_chart(
            [(r["job"].strength, r["job"].fidelity_ssim) for r in image_rows if r["job"].fidelity_ssim is not None],
            x_label="strength", y_label="SSIM to source",
        ),
    }


def svg_chart(points: list[tuple[float, float]], *, x_label: str, y_label: str, width: int = 320, height: int = 180) -> str:
    """A small scatter/line chart as inline SVG (no script, no CDN)."""
    if not points:
        return ""
    points = sorted(points)
    pad = 36
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    sx = (width - 2 * pad) / ((x1 - x0) or 1)
    sy = (height - 2 * pad) / ((y1 - y0) or 1)
    coords = [(pad + (x - x0) * sx, height - pad - (y - y0) * sy) for x, y in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{px:g} {x_label}: {py:.3g}</title></circle>' for (x, y), (px, py) in zip(coords, points))
    labels = "".join(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{px:g}</text>' for (x, _), (px, _) in zip(coords, points))
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{y_label} against {x_label}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>'
        f'<polyline points="{path}" class="series"/>{dots}{labels}'
        f'<text x="{width / 2}" y="{height - 4}" text-anchor="middle">{x_label}</text>'
        f'<text x="4" y="{pad - 10}">{y_label} (max {y1:.3g})</text></svg>'
    )


def report_basename(experiment: Experiment) -> str:
    return f"sdstudio-report-{experiment.pk}-{slugify(experiment.name)[:60]}"


def grid_image(images: list[Image.Image], labels: list[str], *, columns: int, cell: int = 256) -> Image.Image:
    rows = (len(images) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell, rows * (cell + 20)), "white")
    draw = ImageDraw.Draw(grid)
    for index, (image, label) in enumerate(zip(images, labels)):
        x, y = (index % columns) * cell, (index // columns) * (cell + 20)
        grid.paste(image.convert("RGB").resize((cell, cell)), (x, y + 20))
        draw.text((x + 4, y + 4), label[:40], fill="black")
    return grid


def _open(fieldfile) -> Image.Image:
    with fieldfile.open("rb") as handle:
        image = Image.open(handle)
        image.load()
    return image


def report_markdown(experiment: Experiment, data: dict, *, grids: dict[str, str]) -> str:
    from evaluation.models import RUBRIC, Evaluation

    lines = [f"# {experiment.name}", "", experiment.description, ""]
    lines += [f"Generated by SD Studio on {timezone.now():%Y-%m-%d %H:%M} UTC. Jobs finished: {data['finished']}/{data['total_jobs']}.", ""]
    for title, key in (("Text to image", "t2i"), ("Image to image", "i2i")):
        if key in grids:
            lines += [f"## {title}", "", f"![{title}]({grids[key]})", ""]
    lines += ["## Parameters and timings", "",
              "| Run | Mode | Steps | Guidance | Scheduler | Strength | Seed | Size | Status | Seconds | s/step | SSIM | Rubric (/10) |",
              "| :-- | :-- | --: | --: | :-- | --: | --: | :-: | :-- | --: | --: | --: | --: |"]
    for row in data["rows"]:
        job = row["job"]
        fmt = lambda v, spec: format(v, spec) if v is not None else "–"  # noqa: E731
        lines.append(
            f"| {job.run_name or job.pk} | {job.mode} | {job.num_inference_steps} | {job.guidance_scale:g} | {job.scheduler} | "
            f"{fmt(job.strength, '.2f')} | {job.seed} | {job.width}x{job.height} | {job.status} | {fmt(job.inference_seconds, '.2f')} | "
            f"{fmt(job.seconds_per_step, '.3f')} | {fmt(job.fidelity_ssim, '.3f')} | {fmt(row['total'], '.1f')} |"
        )
    evaluations = list(Evaluation.objects.filter(job__experiment=experiment).select_related("job", "reviewer").order_by("job__run_name", "reviewer__username"))
    lines += ["", "## Rubric", ""]
    if evaluations:
        header = " | ".join(label for _, label, _ in RUBRIC)
        lines += [f"| Run | Reviewer | {header} | **Total (/10)** |", "| :-- | :-- |" + " :-: |" * (len(RUBRIC) + 1)]
        for e in evaluations:
            scores = " | ".join(str(v) for v in e.scores().values())
            lines.append(f"| {e.job.run_name or e.job.pk} | {e.reviewer.username} | {scores} | **{e.total}** |")
        lines += ["", "### Justifications", ""]
        for e in evaluations:
            if e.justification:
                lines += [f"**{e.job.run_name or e.job.pk}** ({e.reviewer.username}):", "", e.justification, ""]
    else:
        lines.append("No output has been scored yet.")
    fingerprints = {json.dumps(r["job"].environment, sort_keys=True) for r in data["rows"] if r["job"].environment}
    lines += ["", "## Environment", ""]
    for fp in sorted(fingerprints):
        lines += ["```json", json.dumps(json.loads(fp), indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines) + "\n"


def report_zip(experiment: Experiment) -> bytes:
    """report.md, the grids, and every output PNG with its metadata untouched."""
    data = comparison(experiment)
    buffer = io.BytesIO()
    grids: dict[str, str] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, rows, columns in (("t2i", data["text_rows"], 3), ("i2i", data["image_rows"], 4)):
            done = [r["job"] for r in rows if r["job"].output]
            if not done:
                continue
            images = [_open(job.output) for job in done]
            labels = [job.run_name or f"#{job.pk}" for job in done]
            if key == "i2i" and data["source_photo"] is not None:
                images.insert(0, _open(data["source_photo"].image))
                labels.insert(0, "source")
            png = io.BytesIO()
            grid_image(images, labels, columns=columns).save(png, format="PNG")
            grids[key] = f"grid_{key}.png"
            archive.writestr(grids[key], png.getvalue())
        for row in data["rows"]:
            job = row["job"]
            if job.output:
                with job.output.open("rb") as handle:
                    archive.writestr(f"outputs/{job.run_name or 'job' + str(job.pk)}.png", handle.read())
        if data["source_photo"] is not None:
            with data["source_photo"].image.open("rb") as handle:
                archive.writestr("inputs/source.png", handle.read())
        archive.writestr("report.md", report_markdown(experiment, data, grids=grids))
    return buffer.getvalue()
