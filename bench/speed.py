"""Draft against full: seconds per image side by side in one run, and how far the draft is from the full image.

    python bench/speed.py [--models embedded,embedded-full] [--shapes 512x30,256x20] [--rounds 2]

For each model (each in its own process, SDSTUDIO_MODEL set) and each SIZExSTEPS shape: the same prompt and seed
made at speed full and at speed draft (the UNet's deep features reused between steps,
generation.inference.deepcache), in alternation, --rounds times; prints the median seconds per image of each, the
ratio full / draft, and the draft's difference to the full image on the same seed: mean CIEDE2000 (below 1 not
noticeable, 1-5 slight, 5-10 clear, 10 and over large) and SSIM (1 = the same). `embedded-full` is SD v1.5's
full-size architecture with random weights: the speed-up users get; its images are noise, so its difference
figures say nothing of quality (the trained embedded model's do). The drafts and full images are written to
--out for looking at side by side.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROMPT = "product shot of a red mug on a wooden table"


def measure(shapes: list[tuple[int, int]], rounds: int, out: Path) -> None:
    """In this process: the configured model, every shape; one table row per shape."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdstudio.settings")
    import django

    django.setup()
    import torch

    from generation import fidelity
    from generation import modelinfo
    from generation.inference import pipelines, runner

    torch.set_num_threads(int(os.environ.get("SDSTUDIO_TORCH_THREADS") or os.cpu_count() or 1))
    loaded = pipelines.load_pipelines(modelinfo.inference_config())
    out.mkdir(parents=True, exist_ok=True)
    for size, steps in shapes:
        spec = dict(mode="text2img", prompt=PROMPT, seed=42, num_inference_steps=steps, width=size, height=size)
        runner.run(runner.JobSpec(**{**spec, "num_inference_steps": 2}), loaded)  # warm-up
        seconds: dict[str, list[float]] = {"full": [], "draft": []}
        images = {}
        for _ in range(rounds):
            for speed in ("full", "draft"):
                started = time.perf_counter()
                images[speed] = runner.run(runner.JobSpec(**spec, speed=speed), loaded).image
                seconds[speed].append(time.perf_counter() - started)
        full, draft = statistics.median(seconds["full"]), statistics.median(seconds["draft"])
        delta_e = fidelity.colour_difference(images["full"], images["draft"])
        ssim = fidelity.fidelity(images["full"], images["draft"])[0]
        for speed, image in images.items():
            image.save(out / f"{loaded.model_label}-{size}x{steps}-{speed}.png")
        print(f"| {loaded.model_label} | {size}x{size}, {steps} steps | {full:.2f} | {draft:.2f} | {full / draft:.2f}x | "
              f"{delta_e:.1f} | {ssim:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="embedded,embedded-full", help="SDSTUDIO_MODEL values, comma-separated")
    parser.add_argument("--shapes", default="512x30,256x20", help="SIZExSTEPS list")
    parser.add_argument("--rounds", type=int, default=2, help="full and draft images per shape, in alternation")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "speed")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: measure in this process
    args = parser.parse_args()
    shapes = [tuple(int(v) for v in shape.split("x")) for shape in args.shapes.split(",") if shape]
    if args.one:
        measure(shapes, args.rounds, args.out)
        return
    print("| model | shape | full (s/image) | draft (s/image) | full / draft | draft vs full: mean CIEDE2000 | SSIM |")
    print("| --- | --- | --: | --: | --: | --: | --: |", flush=True)
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        env = {**os.environ, "SDSTUDIO_MODEL": "" if model == "embedded" else model, "HF_HUB_OFFLINE": "1",
               "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{args.out / 'speed.sqlite3'}")}
        args.out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--one", "--shapes", args.shapes, "--rounds", str(args.rounds),
                        "--out", str(args.out)], env=env, check=True)


if __name__ == "__main__":
    main()
