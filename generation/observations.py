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

DELTA_E_GRADES = ((1.0, "not noticeable"), (5.0, "slight"), (10.0, "clear"), (float("inf"), "large"))
# SSIM to the source photo (luminance structure): what an img2img run keeps of the photo.
SSIM_KEEPS = 0.75  # at or above: the photo, restyled (shape, framing, most details)
SSIM_SHAPE = 0.5  # at or above: the overall shape and framing; textures, light, background change


def delta_e_words(delta_e: float) -> str:
    """A mean CIEDE2000 difference in graded words (the bands of this module's docstring)."""
    return next(words for limit, words in DELTA_E_GRADES if delta_e < limit)


def _value_order(value) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def _seconds(job) -> str:
    return f"{job.inference_seconds:.2f} s ({job.seconds_per_step:.3f} s per step)"


def observations(data: dict) -> list[tuple[str, list[str]]]:
    """[(theme, [sentence, ...]), ...] for a comparison (generation.experiments.comparison); themes without a measure
    are left out."""
    rows = data["text_rows"]
    baseline = next((r["job"] for r in rows if not r["changed"]), None)
    themes: list[tuple[str, list[str]]] = []
    if baseline is not None:
        for theme, parameter in (("Steps", "num_inference_steps"), ("Guidance", "guidance_scale"), ("Scheduler", "scheduler")):
            varied = [r for r in rows if r["changed"] == [parameter]]
            sentences = _text_sentences(parameter, baseline, varied)
            if sentences:
                themes.append((theme, sentences))
    sentences = _strength_sentences([r["job"] for r in data["image_rows"] if r["job"].strength is not None])
    if sentences:
        themes.append(("Strength: what img2img keeps and changes", sentences))
    return themes


def _shown(job, parameter: str):
    return job.get_scheduler_display() if parameter == "scheduler" else getattr(job, parameter)


def _text_sentences(parameter: str, baseline, varied: list[dict]) -> list[str]:
    label = {"num_inference_steps": "steps", "guidance_scale": "guidance", "scheduler": "scheduler"}[parameter]
    base_value = _shown(baseline, parameter)
    sentences = []
    measured = [r for r in varied if r["vs_baseline"] is not None]
    for row in sorted(measured, key=lambda r: _value_order(getattr(r["job"], parameter))):
        job, delta_e = row["job"], row["vs_baseline"]
        sentences.append(f"At {label} {_shown(job, parameter)} (baseline {base_value}) the image differs from the baseline's "
                         f"by a {delta_e_words(delta_e)} colour difference (mean CIEDE2000 {delta_e:.1f}).")
    if len(measured) >= 2:
        far = max(measured, key=lambda r: r["vs_baseline"])
        near = min(measured, key=lambda r: r["vs_baseline"])
        if far["vs_baseline"] - near["vs_baseline"] >= 1.0:
            sentences.append(f"{label.capitalize()} {_shown(far['job'], parameter)} moves the image further from the baseline "
                             f"than {_shown(near['job'], parameter)} does ({far['vs_baseline']:.1f} against "
                             f"{near['vs_baseline']:.1f}).")
        else:
            sentences.append(f"Both {label} values change the image about as much ({near['vs_baseline']:.1f} and "
                             f"{far['vs_baseline']:.1f}).")
    if parameter == "num_inference_steps" and baseline.inference_seconds:
        timed = [r["job"] for r in varied if r["job"].inference_seconds]
        for job in sorted(timed, key=lambda j: j.num_inference_steps):
            time_ratio = job.inference_seconds / baseline.inference_seconds
            step_ratio = job.num_inference_steps / baseline.num_inference_steps
            how = "in proportion to the steps" if abs(time_ratio / step_ratio - 1) <= 0.2 else (
                "less than the steps" if time_ratio < step_ratio else "more than the steps")
            sentences.append(f"{job.num_inference_steps} steps took {_seconds(job)}, against {_seconds(baseline)} for "
                             f"{baseline.num_inference_steps}: {time_ratio:.2f}x the time for {step_ratio:.2f}x the steps "
                             f"({how}).")
    return sentences


def _strength_sentences(jobs: list) -> list[str]:
    measured = sorted((j for j in jobs if j.fidelity_ssim is not None and j.strength is not None), key=lambda j: j.strength)
    sentences = []
    # SSIM alone: pHash sits at 20-34 for any two plain-background packshots, so it says nothing of what was kept.
    for job in measured:
        if job.fidelity_ssim < SSIM_SHAPE:
            kept = ("little of the photo is kept: the product risks no longer being the one in stock (too far for the "
                    "shop without a check)")
        elif job.fidelity_ssim < SSIM_KEEPS:
            kept = "the overall shape and framing are kept; textures, light and background change"
        else:
            kept = "the photo is kept (shape, framing, most details): a restyle, usable as the product"
        sentences.append(f"Strength {job.strength:.2f}: SSIM {job.fidelity_ssim:.2f} to the photo; {kept}.")
    if len(measured) >= 2:
        low, high = measured[0], measured[-1]
        trend = "falls" if high.fidelity_ssim < low.fidelity_ssim else "does not fall"
        sentences.append(f"From strength {low.strength:.2f} to {high.strength:.2f} the likeness to the photo {trend} "
                         f"(SSIM {low.fidelity_ssim:.2f} to {high.fidelity_ssim:.2f}).")
    return sentences
