"""The brief's controlled study (and any sweep): plan, seed, compare side by side, report."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from generation import fidelity, modelinfo, modes, services
from generation import parameters as P
from generation.models import Experiment, GenerationJob, Status
from sdstudio.roles import require
from generation.observations import delta_e_words, observations
from sdstudio.images import open_image
from sdstudio.textsafe import natural_key

# The brief's controlled study: its prompt and baseline (512x512, 30 steps, guidance 7.5, Euler a, seed 42).
STUDY_KIND = "study"
STUDY_PROMPT = (
    "ultra-realistic product shot of sleek black wireless headphones on a minimalist gray background, "
    "studio lighting, sharp focus, professional e-commerce photography"
)
STUDY_BASELINE = {"prompt": STUDY_PROMPT, "negative_prompt": "", **P.BASELINE}
# Stored in English on the study; pages translate it on the way out ({% translate experiment.description %}).
STUDY_DESCRIPTION = gettext_noop(
    "The brief's controlled study: six text2img runs varying steps, guidance and scheduler; three img2img runs at "
    "strength 0.35 / 0.60 / 0.85 from the product photo; and one scene that keeps the product's pixels while the "
    "background is generated.")


@dataclass(frozen=True)
class Run:
    name: str
    label: str
    changes: dict = field(default_factory=dict)
    mode: str = "text2img"  # the brief's runs name their modes (generation.modes)


# Exercise 3 (runs 01-06) and exercise 4 (runs 07-09), with the brief's file names.
STUDY_RUNS = [
    Run("t2i_run01_baseline", gettext_lazy("Baseline (30 steps, G=7.5, EulerA)")),
    Run("t2i_run02_steps15", gettext_lazy("Low steps (15)"), {"num_inference_steps": 15}),
    Run("t2i_run03_steps50", gettext_lazy("High steps (50)"), {"num_inference_steps": 50}),
    Run("t2i_run04_guid4", gettext_lazy("Low guidance (4.0)"), {"guidance_scale": 4.0}),
    Run("t2i_run05_guid12", gettext_lazy("High guidance (12.0)"), {"guidance_scale": 12.0}),
    Run("t2i_run06_ddim", gettext_lazy("DDIM scheduler (30 steps, G=7.5)"), {"scheduler": "ddim"}),
    Run("i2i_run07_strength035", gettext_lazy("img2img strength 0.35"), {"strength": 0.35}, "img2img"),
    Run("i2i_run08_strength060", gettext_lazy("img2img strength 0.60"), {"strength": 0.60}, "img2img"),
    Run("i2i_run09_strength085", gettext_lazy("img2img strength 0.85"), {"strength": 0.85}, "img2img"),
    # Beyond the brief: its risk (0.85 reinvents the product) and the mitigation, side by side.
    Run("scene_run10_keep_product", gettext_lazy("Scene: the product's pixels kept, the scene generated"), {}, "scene"),
]


def study_name(product, *, index: int = 1) -> str:
    base = f"Brief study · {product.sku} · {modelinfo.model_label()}"
    return base if index == 1 else f"{base} · #{index}"


@transaction.atomic
def study_seed(*, product, source_photo, user=None, force: bool = False) -> tuple[Experiment, bool]:
    """Create the brief's nine jobs, and the scene that keeps the product, for a product. Returns (experiment, created).

    Idempotent: the same product and model give back the existing study unless force=True,
    which queues a fresh numbered set.
    """
    require(user, "generation.add_experiment", "Only merchandisers (or admins) can seed the brief's study.")
    existing = Experiment.objects.filter(kind=STUDY_KIND, product=product, name__startswith=study_name(product)).order_by("-id")
    if existing.exists() and not force:
        return existing.first(), False
    experiment = Experiment.objects.create(
        name=study_name(product, index=existing.count() + 1),
        kind=STUDY_KIND,
        product=product,
        created_by=user,
        description=STUDY_DESCRIPTION,
    )
    for run in STUDY_RUNS:
        params = {**STUDY_BASELINE, **run.changes}
        services.job_create(
            mode=run.mode,
            **params,
            product=product,
            source_photo=source_photo if modes.get(run.mode).uses_photo else None,
            experiment=experiment,
            run_name=run.name,
            user=user,
        )
    return experiment, True


@transaction.atomic
def sweep_create(*, baseline: GenerationJob, parameter: str, values: list, user=None, name: str = "") -> Experiment:
    """Any other study: the baseline job's parameters with one of them swept over values."""
    require(user, "generation.add_experiment", "Only merchandisers (or admins) can start a sweep.")
    if parameter not in P.SWEEPABLE:
        raise ValidationError({"parameter": _("Sweep one of %(parameters)s.") % {"parameters": ", ".join(P.SWEEPABLE)}})
    swept = P.BY_NAME[parameter]
    if not modes.uses(baseline.mode, parameter):
        raise ValidationError({"parameter": _("%(label)s sweeps need a baseline in %(modes)s.") % {
            "label": swept.shown_label, "modes": _(" or ").join(sorted(modes.using(parameter)))}})
    if not values:
        raise ValidationError({"values": _("Give at least one value to sweep.")})
    if len(values) > P.JOBS_PER_REQUEST_MAX:
        raise ValidationError({"values": _("%(count)s values would queue %(count)s jobs; a sweep takes at most %(limit)s (split it "
                                           "into several).") % {"count": len(values), "limit": P.JOBS_PER_REQUEST_MAX}})
    try:
        values = [swept.type(v) for v in values]
    except (TypeError, ValueError):
        raise ValidationError({"values": _("The values must all be numbers.") if swept.type is not str
                               else _("The values must all be texts.")}) from None
    fields = dict(kind="sweep", product=baseline.product, created_by=user,
                  description=f"Job #{baseline.pk}'s parameters with {parameter} in {values}.")
    if name:
        if Experiment.objects.filter(name=name).exists():
            raise ValidationError({"name": _("An experiment is already named “%(name)s”: choose another name.")
                                           % {"name": name[:100]}})
        experiment = Experiment.objects.create(name=name, **fields)
    else:
        experiment = _create_with_free_name(f"Sweep of {parameter} from job #{baseline.pk} ({timezone.now():%Y-%m-%d %H:%M:%S})",
                                            fields)
    for value in values:
        params = baseline.parameter_values()
        params[parameter] = value
        services.job_create(
            **params,
            product=baseline.product,
            source_photo=baseline.source_photo,
            kept_mask=services.job_mask_image(baseline),
            experiment=experiment,
            run_name=slugify(f"{parameter}-{value}").replace("-", "_"),
            user=user,
        )
    return experiment


def _create_with_free_name(base: str, fields: dict) -> Experiment:
    """An experiment named ``base``, or ``base (2)``, ``(3)``...: two identical sweeps in one second both get one."""
    for attempt in range(1, 50):
        name = base if attempt == 1 else f"{base} ({attempt})"
        if Experiment.objects.filter(name=name).exists():
            continue
        try:
            with transaction.atomic():  # a concurrent request may take the name between the check and the insert
                return Experiment.objects.create(name=name, **fields)
        except IntegrityError:
            continue
    raise ValidationError("Too many experiments were started from this job in the same second; try again.")


COMPARED = ("num_inference_steps", "guidance_scale", "scheduler", "strength", "seed", "width", "height", "mode")


RUN_NUMBER = re.compile(r"(?:^|_)run([0-9]+)(?:_|$)")


def run_order(run_name: str) -> tuple:
    """The order a person reads a study's runs in: by the brief's run number (t2i_run01 ... scene_run10), whatever
    the mode prefix, then by name with numbers by value (seed_2 before seed_10)."""
    match = RUN_NUMBER.search(run_name or "")
    return (int(match.group(1)) if match else float("inf"), natural_key(run_name))


def comparison(experiment: Experiment) -> dict:
    """Rows for the side-by-side page and the report, with what differs from the first run highlighted."""
    # Runs in the order a person reads them (seed_2 before seed_10), not as strings.
    jobs = sorted(experiment.jobs.select_related("source_photo", "product"), key=lambda job: (run_order(job.run_name), job.pk))
    baseline = next((j for j in jobs if not j.mode_info.uses_photo), jobs[0] if jobs else None)
    rows = []
    baseline_image = _finished_image(baseline) if baseline is not None else None
    for job in jobs:
        changed = [name for name in COMPARED if baseline is not None and job.mode == baseline.mode and getattr(job, name) != getattr(baseline, name)]
        image = _finished_image(job) if changed and baseline_image is not None else None
        # How far the run's image is from the baseline's (mean CIEDE2000, fidelity.colour_difference), once both are finished.
        vs_baseline = fidelity.colour_difference(baseline_image, image) if image is not None else None
        rows.append({"job": job, "changed": changed, "vs_baseline": vs_baseline,
                     "vs_baseline_seen": delta_e_words(vs_baseline) if vs_baseline is not None else ""})
    text_rows = [r for r in rows if not r["job"].mode_info.uses_photo]
    image_rows = [r for r in rows if r["job"].mode_info.uses_photo]
    source = image_rows[0]["job"].source_photo if image_rows else None
    done = [r["job"] for r in rows if r["job"].status == Status.SUCCEEDED]
    data = {
        "rows": rows,
        "text_rows": text_rows,
        "image_rows": image_rows,
        "has_scene": any(r["job"].mode_info.uses_mask for r in image_rows),
        "source_photo": source,
        "finished": len(done),
        "total_jobs": len(rows),
        "prompts": sorted({r["job"].prompt for r in rows}),
        # A chart only says something when its x varies: a seed sweep has one step count, one strength.
        "time_chart": svg_chart(
            [(r["job"].num_inference_steps, r["job"].inference_seconds) for r in text_rows if r["job"].inference_seconds],
            x_label=_("steps"), y_label=_("seconds"),
        ) if len({r["job"].num_inference_steps for r in text_rows}) > 1 else "",
        "fidelity_chart": svg_chart(
            [(r["job"].strength, r["job"].fidelity_ssim) for r in image_rows if r["job"].fidelity_ssim is not None and r["job"].strength is not None],
            x_label=_("strength"), y_label=_("SSIM to source"),
        ) if len({r["job"].strength for r in image_rows if r["job"].strength is not None}) > 1 else "",
    }
    data["observations"] = observations(data)
    return data


def _finished_image(job: GenerationJob):
    """A succeeded job's output, decoded; None otherwise (or when its file is gone: the page still shows the rest)."""
    if job.status != Status.SUCCEEDED or not job.output:
        return None
    try:
        return open_image(job.output)
    except (OSError, ValueError):
        return None


def svg_chart(points: list[tuple[float, float]], *, x_label: str, y_label: str, width: int = 320, height: int = 180) -> str:
    """A small scatter/line chart as inline SVG (no script, no CDN)."""
    aria = _("%(y)s against %(x)s") % {"y": y_label, "x": x_label}
    if not points:
        return ""
    points = sorted(points)
    pad = 36
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    # The y axis follows the data (SSIM from 0.6 to 0.9 is not a flat line at the top of a 0-1 axis), padded a little.
    margin = (max(ys) - min(ys)) * 0.1 or abs(max(ys)) * 0.1 or 1.0
    y0, y1 = min(ys) - margin, max(ys) + margin
    sx = (width - 2 * pad) / ((x1 - x0) or 1)
    sy = (height - 2 * pad) / ((y1 - y0) or 1)
    coords = [(pad + (x - x0) * sx, height - pad - (y - y0) * sy) for x, y in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{px:g} {x_label}: {py:.3g}</title></circle>' for (x, y), (px, py) in zip(coords, points))
    labels = "".join(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{px:g}</text>' for (x, _), (px, _) in zip(coords, points))
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{aria}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>'
        f'<polyline points="{path}" class="series"/>{dots}{labels}'
        f'<text x="{width / 2}" y="{height - 4}" text-anchor="middle">{x_label}</text>'
        f'<text x="4" y="{pad - 10}">{y_label}</text>'
        f'<text x="{pad - 4}" y="{pad + 4}" text-anchor="end" class="tick">{y1:.3g}</text>'
        f'<text x="{pad - 4}" y="{height - pad}" text-anchor="end" class="tick">{y0:.3g}</text></svg>'
    )
