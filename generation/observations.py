"""What a study shows, in sentences written from what was measured (the brief's questions 3.c and 4.c).

The brief asks for bullet points on the effect of steps, guidance and the scheduler, and on what strength keeps
and changes. Each sentence here is built from the study's own figures (seconds per image, the colour difference
to the baseline, SSIM and pHash to the source photo), so two studies with other figures read differently, and a
figure not measured yet gives no sentence.

Colour differences are said in grades of the mean CIEDE2000 over the image (fidelity.colour_difference):
below 1 "not noticeable" (under the just-noticeable difference), 1 to 5 "slight" (seen on a close look: the same
picture, a little lighter, darker or shifted), 5 to 10 "clear" (seen at a glance), 10 and over "large" (another
picture). Bands measured on the embedded model's study: 50 steps against 30 (3.3) and guidance 12 against 7.5 (3.8)
look alike side by side; DDIM against Euler a (8.2) is visibly greyer; 15 steps (38) is another picture.
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

DELTA_E_GRADES = ((1.0, gettext_lazy("not noticeable")), (5.0, gettext_lazy("slight")), (10.0, gettext_lazy("clear")),
                  (float("inf"), gettext_lazy("large")))
# SSIM to the source photo (luminance structure): what an img2img run keeps of the photo.
SSIM_KEEPS = 0.75  # at or above: the photo, restyled (shape, framing, most details)
SSIM_SHAPE = 0.5  # at or above: the overall shape and framing; textures, light, background change


def delta_e_words(delta_e: float) -> str:
    """A mean CIEDE2000 difference in graded words (the bands of this module's docstring)."""
    return str(next(words for limit, words in DELTA_E_GRADES if delta_e < limit))


def _value_order(value) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def _seconds(job) -> str:
    return _("%(seconds).2f s (%(per_step).3f s per step)") % {"seconds": job.inference_seconds, "per_step": job.seconds_per_step}


def observations(data: dict) -> list[tuple[str, list[str]]]:
    """[(theme, [sentence, ...]), ...] for a comparison (generation.experiments.comparison); themes without a measure
    are left out."""
    rows = data["text_rows"]
    baseline = next((r["job"] for r in rows if not r["changed"]), None)
    themes: list[tuple[str, list[str]]] = []
    if baseline is not None:
        for theme, parameter in ((_("Steps"), "num_inference_steps"), (_("Guidance"), "guidance_scale"), (_("Scheduler"), "scheduler")):
            varied = [r for r in rows if r["changed"] == [parameter]]
            sentences = _text_sentences(parameter, baseline, varied)
            if sentences:
                themes.append((theme, sentences))
    sentences = _strength_sentences([r["job"] for r in data["image_rows"] if r["job"].strength is not None])
    if sentences:
        themes.append((_("Strength: what img2img keeps and changes"), sentences))
    return themes


def _shown(job, parameter: str):
    return job.get_scheduler_display() if parameter == "scheduler" else getattr(job, parameter)


def _text_sentences(parameter: str, baseline, varied: list[dict]) -> list[str]:
    label = {"num_inference_steps": _("steps"), "guidance_scale": _("guidance"), "scheduler": _("scheduler")}[parameter]
    base_value = _shown(baseline, parameter)
    sentences = []
    measured = [r for r in varied if r["vs_baseline"] is not None]
    for row in sorted(measured, key=lambda r: _value_order(getattr(r["job"], parameter))):
        job, delta_e = row["job"], row["vs_baseline"]
        sentences.append(_("At %(parameter)s %(value)s (baseline %(baseline)s) the image differs from the baseline's by a "
                           "%(grade)s colour difference (mean CIEDE2000 %(delta_e).1f).") % {
            "parameter": label, "value": _shown(job, parameter), "baseline": base_value, "grade": delta_e_words(delta_e),
            "delta_e": delta_e})
    if len(measured) >= 2:
        far = max(measured, key=lambda r: r["vs_baseline"])
        near = min(measured, key=lambda r: r["vs_baseline"])
        if far["vs_baseline"] - near["vs_baseline"] >= 1.0:
            sentences.append(_("%(parameter)s %(far)s moves the image further from the baseline than %(near)s does "
                               "(%(far_delta).1f against %(near_delta).1f).") % {
                "parameter": label.capitalize(), "far": _shown(far["job"], parameter), "near": _shown(near["job"], parameter),
                "far_delta": far["vs_baseline"], "near_delta": near["vs_baseline"]})
        else:
            sentences.append(_("Both %(parameter)s values change the image about as much (%(near_delta).1f and "
                               "%(far_delta).1f).") % {"parameter": label, "near_delta": near["vs_baseline"],
                                                       "far_delta": far["vs_baseline"]})
    if parameter == "num_inference_steps" and baseline.inference_seconds:
        timed = [r["job"] for r in varied if r["job"].inference_seconds]
        for job in sorted(timed, key=lambda j: j.num_inference_steps):
            time_ratio = job.inference_seconds / baseline.inference_seconds
            step_ratio = job.num_inference_steps / baseline.num_inference_steps
            how = _("in proportion to the steps") if abs(time_ratio / step_ratio - 1) <= 0.2 else (
                _("less than the steps") if time_ratio < step_ratio else _("more than the steps"))
            sentences.append(_("%(steps)s steps took %(seconds)s, against %(baseline_seconds)s for %(baseline_steps)s: "
                               "%(time_ratio).2fx the time for %(step_ratio).2fx the steps (%(how)s).") % {
                "steps": job.num_inference_steps, "seconds": _seconds(job), "baseline_seconds": _seconds(baseline),
                "baseline_steps": baseline.num_inference_steps, "time_ratio": time_ratio, "step_ratio": step_ratio, "how": how})
    return sentences


def strength_sentence(job) -> str:
    """What one img2img run kept of the photo, from its SSIM ("" before it is measured)."""
    if job.fidelity_ssim is None or job.strength is None:
        return ""
    if job.fidelity_ssim < SSIM_SHAPE:
        kept = _("little of the photo is kept: the product risks no longer being the one in stock (too far for the "
                 "shop without a check)")
    elif job.fidelity_ssim < SSIM_KEEPS:
        kept = _("the overall shape and framing are kept; textures, light and background change")
    else:
        kept = _("the photo is kept (shape, framing, most details): a restyle, usable as the product")
    return _("Strength %(strength).2f: SSIM %(ssim).2f to the photo; %(kept)s.") % {
        "strength": job.strength, "ssim": job.fidelity_ssim, "kept": kept}


def _strength_sentences(jobs: list) -> list[str]:
    measured = sorted((j for j in jobs if j.fidelity_ssim is not None and j.strength is not None), key=lambda j: j.strength)
    # SSIM alone: pHash sits at 20-34 for any two plain-background packshots, so it says nothing of what was kept.
    sentences = [strength_sentence(job) for job in measured]
    if len(measured) >= 2:
        low, high = measured[0], measured[-1]
        trend = _("falls") if high.fidelity_ssim < low.fidelity_ssim else _("does not fall")
        sentences.append(_("From strength %(low).2f to %(high).2f the likeness to the photo %(trend)s (SSIM %(low_ssim).2f to "
                           "%(high_ssim).2f).") % {"low": low.strength, "high": high.strength, "trend": trend,
                                                    "low_ssim": low.fidelity_ssim, "high_ssim": high.fidelity_ssim})
    return sentences
