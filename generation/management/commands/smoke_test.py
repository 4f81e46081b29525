from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext


class Command(BaseCommand):
    help = gettext("The brief's exercise 1: load the configured model and make one 512x512 image; print device, model, "
                        "seconds, path.")

    def add_arguments(self, parser):
        parser.add_argument("--prompt", default="a professional studio photo of a pair of black wireless headphones")
        parser.add_argument("--steps", type=int, default=30)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--size", type=int, default=512)
        parser.add_argument("--out", type=Path, default=None, help="Default: MEDIA_ROOT/outputs/smoke.png")

    def handle(self, *args, **options):
        from generation import modelinfo, pngmeta
        from generation.inference import pipelines, runner

        started = time.perf_counter()
        loaded = pipelines.get_pipelines(modelinfo.inference_config())
        spec = runner.JobSpec(prompt=options["prompt"], seed=options["seed"], num_inference_steps=options["steps"],
                              width=options["size"], height=options["size"])
        result = runner.run(spec, loaded)
        out: Path = options["out"] or Path(settings.MEDIA_ROOT) / "outputs" / "smoke.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        params = {**spec.__dict__, "model": loaded.model_label}
        params.pop("source_image")
        out.write_bytes(pngmeta.encode_png(result.image, params, extra={"environment": loaded.fingerprint()}))
        self.stdout.write(f"device: {loaded.device} ({loaded.fingerprint()['device_name']}, {loaded.dtype})")
        self.stdout.write(f"model: {loaded.model_label}")
        self.stdout.write(f"load: {loaded.load_seconds:.2f} s, inference: {result.inference_seconds:.2f} s "
                          f"({result.seconds_per_step:.3f} s/step), total: {time.perf_counter() - started:.2f} s")
        self.stdout.write(f"image: {result.image.width}x{result.image.height}")
        self.stdout.write(str(out))
