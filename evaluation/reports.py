"""Reports on a study: the side-by-side page with rubric totals, and the report zip (report.md, grids, outputs)."""
from __future__ import annotations

import io
import json
import zipfile

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw

from evaluation.models import RUBRIC, Evaluation
from evaluation.selectors import average_totals
from generation.experiments import RUN_NUMBER, STUDY_RUNS, comparison, run_order
from generation.observations import strength_sentence
from generation import parameters as P
from generation.models import Experiment
from sdstudio.textsafe import markdown_text as md
from sdstudio.images import open_image


def comparison_with_totals(experiment: Experiment) -> dict:
    """The study's comparison (generation.experiments) with each run's average rubric total."""
    data = comparison(experiment)
    totals = average_totals([row["job"].pk for row in data["rows"]])
    for row in data["rows"]:
        row["total"] = totals.get(row["job"].pk)
    return data


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


RUN_LABELS = {run.name: run.label for run in STUDY_RUNS}
# The rubric table's short column names, as the brief's rapport.md has them.
RUBRIC_COLUMNS = ("Adherence", "Realism", "Artifacts", "Usability", "Repro.")


def _run_number(job) -> str:
    match = RUN_NUMBER.search(job.run_name or "")
    return match.group(1) if match else str(job.pk)


def _run_label(row) -> str:
    """What the run changed, as the brief's grid says it ("Low steps (15)"); a sweep's runs name the changed value."""
    job = row["job"]
    if job.run_name in RUN_LABELS:
        return str(RUN_LABELS[job.run_name])
    if not row["changed"]:
        return _("Baseline")
    return ", ".join(f"{P.BY_NAME[name].shown_label} = {getattr(job, name)}" for name in row["changed"])


def _output_link(job) -> str:
    name = job.run_name or f"job{job.pk}"
    return f"![{md(name)}](outputs/{name}.png)" if job.output else _("(no output yet)")


def _run_observation(row) -> str:
    job = row["job"]
    if not row["changed"]:
        return _("Reference image.") if job.output else ""
    if row["vs_baseline"] is None:
        return ""
    return _("%(grade)s colour difference to the baseline (mean CIEDE2000 %(delta_e).1f).") % {
        "grade": row["vs_baseline_seen"], "delta_e": row["vs_baseline"]}


def brief_sections(data: dict, evaluations: list) -> list[str]:
    """The brief's rapport.md: the text2img grid table, the impact of each parameter, the strength runs, the rubric
    table with totals and the justifications, in the active language."""
    lines = ["## " + _("Comparison of the text2img runs"), "",
             "| Run | %s | Image | Observations |" % _("Changed parameter"), "| :--- | :--- | :--- | :--- |"]
    for row in data["text_rows"]:
        lines.append(f"| **{_run_number(row['job'])}** | {md(_run_label(row))} | {_output_link(row['job'])} | {md(_run_observation(row))} |")
    themes = dict(data.get("observations") or [])
    impacts = ((_("Steps"), _("Impact of the number of steps:")), (_("Guidance"), _("Impact of guidance (CFG scale):")),
               (_("Scheduler"), _("Impact of the scheduler:")))
    lines.append("")
    for theme, title in impacts:
        if themes.get(theme):
            lines += [f"{title} {' '.join(md(s) for s in themes[theme])}", ""]
    strength_rows = [r for r in data["image_rows"] if r["job"].strength is not None]
    if strength_rows:
        lines += ["## " + _("img2img: what strength keeps and changes"), ""]
        if data["source_photo"] is not None:
            lines += [_("Source image:"), "", "![source](inputs/source.png)", ""]
        for row in strength_rows:
            job = row["job"]
            lines += [_("Run%(number)s (strength=%(strength).2f):") % {"number": _run_number(job), "strength": job.strength}, "",
                      _output_link(job), ""]
            sentence = strength_sentence(job)
            if sentence:
                lines += [md(sentence), ""]
    lines += ["## " + _("Evaluation (light rubric)"), ""]
    if not evaluations:
        return lines + [_("No output has been scored yet."), ""]
    lines += ["| %s | Image | %s | **Total (/10)** |" % (_("Generation type"), " | ".join(RUBRIC_COLUMNS)),
              "| :--- | :---: |" + " :---: |" * (len(RUBRIC_COLUMNS) + 1)]
    labels = {row["job"].pk: _run_label(row) for row in data["rows"]}
    for index, e in enumerate(evaluations, 1):
        scores = " | ".join(str(v) for v in e.scores().values())
        what = f"**{index}. {md(labels.get(e.job_id, ''))}** (Run {_run_number(e.job)}, {md(e.reviewer.username)})"
        lines.append(f"| {what} | {_output_link(e.job)} | {scores} | **{e.total}** |")
    lines += ["", _("Justification:"), ""]
    for index, e in enumerate(evaluations, 1):
        if e.justification:
            text = " ".join(md(part.strip(" -*")) for part in e.justification.splitlines() if part.strip(" -*"))
            lines.append(_("* **%(label)s:** %(text)s") % {"label": f"{index}. {md(labels.get(e.job_id, ''))}", "text": text})
    return lines + [""]


def report_markdown(experiment: Experiment, data: dict, *, grids: dict[str, str]) -> str:
    """The study's report.md in the active language: the brief's sections first, then every figure measured."""
    evaluations = sorted(Evaluation.objects.filter(job__experiment=experiment).select_related("job", "reviewer"),
                         key=lambda e: (run_order(e.job.run_name), e.job_id, e.reviewer.username))
    lines = [f"# {md(experiment.name)}", "", md(_(experiment.description)) if experiment.description else "", ""]
    for prompt in data["prompts"]:
        lines += [_("Prompt: %(prompt)s") % {"prompt": md(prompt)}, ""]
    lines += [_("Generated by SD Studio on %(date)s UTC. Jobs finished: %(finished)s/%(total)s.") % {
        "date": f"{timezone.now():%Y-%m-%d %H:%M}", "finished": data["finished"], "total": data["total_jobs"]}, ""]
    for title, key in ((_("Text to image"), "t2i"), (_("From the product photo (img2img and scene)"), "i2i")):
        if key in grids:
            lines += [f"## {title}", "", f"![{title}]({grids[key]})", ""]
    lines += brief_sections(data, evaluations)
    lines += ["## " + _("Parameters and timings"), "",
              "| Run | Mode | Steps | Guidance | Scheduler | Strength | Seed | %s | Status | %s | s/step | SSIM | %s | %s |" % (
                  _("Size"), _("Seconds"), _("Product max diff"), _("Rubric (/10)")),
              "| :-- | :-- | --: | --: | :-- | --: | --: | :-: | :-- | --: | --: | --: | --: | --: |"]
    for row in data["rows"]:
        job = row["job"]
        fmt = lambda v, spec: format(v, spec) if v is not None else "–"  # noqa: E731
        lines.append(
            f"| {md(job.run_name) or job.pk} | {job.mode} | {job.num_inference_steps} | {job.guidance_scale:g} | {job.scheduler} | "
            f"{fmt(job.strength, '.2f')} | {job.seed} | {job.width}x{job.height} | {job.status} | {fmt(job.inference_seconds, '.2f')} | "
            f"{fmt(job.seconds_per_step, '.3f')} | {fmt(job.fidelity_ssim, '.3f')} | {fmt(job.product_max_pixel_diff, 'd')} | "
            f"{fmt(row['total'], '.1f')} |"
        )
    if data.get("observations"):
        lines += ["", "## " + _("Observations"), "",
                  _("Written from the measures (colour difference: mean CIEDE2000 to the baseline, below 1 not noticeable, "
                    "1-5 slight, 5-10 clear, 10 and over large; SSIM: likeness to the source photo, 1 = the same)."), ""]
        for theme, sentences in data["observations"]:
            lines += [f"### {md(theme)}", "", *[f"- {md(sentence)}" for sentence in sentences], ""]
    lines += ["", "## " + _("Rubric by reviewer"), ""]
    if evaluations:
        header = " | ".join(str(label) for _name, label, _help in RUBRIC)
        lines += ["| Run | %s | %s | **Total (/10)** |" % (_("Reviewer"), header), "| :-- | :-- |" + " :-: |" * (len(RUBRIC) + 1)]
        for e in evaluations:
            scores = " | ".join(str(v) for v in e.scores().values())
            lines.append(f"| {md(e.job.run_name) or e.job.pk} | {md(e.reviewer.username)} | {scores} | **{e.total}** |")
        lines += ["", "### " + _("Justifications"), ""]
        for e in evaluations:
            if e.justification:
                lines += [f"**{md(e.job.run_name) or e.job.pk}** ({md(e.reviewer.username)}):", "", md(e.justification), ""]
    else:
        lines.append(_("No output has been scored yet."))
    fingerprints = {json.dumps(r["job"].environment, sort_keys=True) for r in data["rows"] if r["job"].environment}
    lines += ["", "## " + _("Environment"), ""]
    for fp in sorted(fingerprints):
        lines += ["```json", json.dumps(json.loads(fp), indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines) + "\n"


def report_zip(experiment: Experiment) -> bytes:
    """report.md, the grids, and every output PNG with its metadata untouched."""
    data = comparison_with_totals(experiment)
    buffer = io.BytesIO()
    grids: dict[str, str] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, rows, columns in (("t2i", data["text_rows"], 3), ("i2i", data["image_rows"], 4)):
            done = [r["job"] for r in rows if r["job"].output]
            if not done:
                continue
            images = [open_image(job.output) for job in done]
            labels = [job.run_name or f"#{job.pk}" for job in done]
            if key == "i2i" and data["source_photo"] is not None:
                images.insert(0, open_image(data["source_photo"].image))
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
