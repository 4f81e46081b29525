from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm
from django.utils.translation import gettext


class Command(BaseCommand):
    help = (
        gettext("Train the embedded model (UNet + CLIP text encoder) on product shots rendered by SD Studio, and save"
                     " it as a diffusers folder. Resumable: run it again with the same options to continue from the last "
                     "checkpoint.")
    )

    def add_arguments(self, parser):
        from generation.inference.training import TrainingConfig

        defaults = TrainingConfig()
        for item in fields(TrainingConfig):
            option = "--" + item.name.replace("_", "-")
            if isinstance(getattr(defaults, item.name), bool):
                parser.add_argument(option, action="store_true")
            else:
                parser.add_argument(option, type=type(getattr(defaults, item.name)), default=getattr(defaults, item.name))
        parser.add_argument("--workdir", type=Path, default=None, help=gettext("Checkpoint and encoded shots (default: var/training)."))
        parser.add_argument("--out", type=Path, default=None, help=gettext(
            "Default: the shipped folder generation/inference/embedded_model (embedded_inpainting with --inpainting)."))
        # --inpainting (from TrainingConfig): the scene mode's 9-channel UNet, fine-tuned from --init-from
        parser.add_argument("--device", default="cpu", help="cpu or cuda")
        parser.add_argument("--loss-plot", type=Path, default=None, help="Default: docs/embedded-model-loss.png")
        parser.add_argument("--export-only", action="store_true", help=gettext("Save the last checkpoint's weights as the model, train nothing."))
        parser.add_argument("--threads", type=int, default=0, help=gettext("torch threads on the CPU (0: torch's default)."))
        parser.add_argument("--bf16", action="store_true", help=gettext("bf16 autocast (faster on CPUs with AVX512-BF16 and on GPUs)."))

    def handle(self, *args, **options):
        import torch

        from generation.inference import embedded, training

        if options["threads"]:
            torch.set_num_threads(options["threads"])
        config = training.TrainingConfig(**{item.name: options[item.name] for item in fields(training.TrainingConfig)})
        workdir = options["workdir"] or Path(settings.BASE_DIR) / "var" / "training"
        output = options["out"] or (embedded.TRAINED_INPAINT_DIR if config.inpainting else embedded.TRAINED_DIR)
        if options["export_only"]:
            state = training.export_checkpoint(workdir, output)
            self.stdout.write(f"exported the checkpoint of step {state.step} to {output}")
            return
        stream = self.stderr._out
        encode_bar = tqdm(total=config.shots, desc="render shots", unit="shot", file=stream)
        step_bar = tqdm(total=config.steps, desc="train", unit="step", file=stream)

        def on_encode(done: int, total: int) -> None:
            encode_bar.n = done
            encode_bar.refresh()
            if done >= total:
                encode_bar.close()

        def on_step(step: int, loss: float) -> None:
            step_bar.n = step
            step_bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            step_bar.refresh()

        try:
            state = training.train(workdir=workdir, output=output, config=config, device=options["device"],
                                   autocast_bf16=options["bf16"], on_step=on_step, on_encode=on_encode)
        except ValueError as exc:  # a checkpoint made with other settings
            raise CommandError(str(exc)) from None
        encode_bar.close()
        step_bar.close()
        plot = options["loss_plot"] or Path(settings.BASE_DIR) / "docs" / (
            "embedded-inpainting-loss.png" if config.inpainting else "embedded-model-loss.png")
        plot.parent.mkdir(parents=True, exist_ok=True)
        training.plot_losses(state.losses, plot, marks=training.changes(state.runs))
        self.stdout.write(f"trained {state.step} steps in {state.seconds / 60:.1f} min; saved to {output}; loss curve {plot}")
