from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext

from catalog.models import Product
from generation import modes
from generation import parameters as P
from generation import services
from generation.models import Status
from sdstudio.localredis import require_sdstudio_command_redis


class Command(BaseCommand):
    help = gettext("Queue one generation job (text2img; img2img or scene with --image) and optionally follow it to the end.")

    def add_arguments(self, parser):
        # One option per job parameter (generation.parameters); unset options take the parameter's default.
        for p in P.PARAMETERS:
            default = "text2img, or img2img with --image" if p.name == "mode" else p.default
            choices = modes.names() if p.name == "mode" else p.choices
            parser.add_argument(p.cli, dest=p.name, type=p.type, choices=choices or None, required=p.name == "prompt",
                                help=f"{p.help} (default: {default})".strip() if p.name != "prompt" else p.help)
        parser.add_argument("--image", type=Path, help=gettext("img2img and scene: a product photo (added to --product, or to the product IMPORTED)."))
        parser.add_argument("--mask", type=Path, help=gettext("scene: the product's mask as a PNG at the photo's size, white = kept (default: the photo's own: its "
                                                              "transparency, or found automatically)."))
        parser.add_argument("--product", help=gettext("SKU of the product the job (and --image) belongs to."))
        parser.add_argument("--model", default=None, help=gettext("The model to run it on (default: SDSTUDIO_MODEL); it waits for a worker started with that "
                                                                  "SDSTUDIO_MODEL."))
        parser.add_argument("--as-user", default=None, help=gettext("Act as this login (its role is checked and it owns the job); default: the command line's operator."))
        parser.add_argument("--wait", action="store_true", help=gettext("Follow progress and print the output path."))
        parser.add_argument("--inline", action="store_true", help=gettext("Run in this process instead of on a worker (no Redis needed)."))
        parser.add_argument("--timeout", type=float, default=None, help=gettext("With --wait: give up after this many seconds."))

    def handle(self, *args, **options):
        if not options["inline"]:  # --inline runs here: it needs no Redis (and sends nothing to an unknown one)
            require_sdstudio_command_redis()
        from catalog.services import DuplicatePhoto, photo_add

        user = None  # the operator: a shell on the machine (sdstudio.roles.require)
        if options["as_user"]:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=options["as_user"]).first()
            if user is None:
                raise CommandError(gettext("No login named “%(as_user)s”.") % {"as_user": options['as_user']})
        product = None
        if options["product"]:
            product = Product.objects.filter(sku=options["product"]).first()
            if product is None:
                raise CommandError(gettext("No product with SKU “%(product)s”. Create it first (admin, catalog page or import_catalog).")
                                   % {"product": options['product']})
        source = None
        mode = options["mode"] or ("img2img" if options["image"] else "text2img")
        if modes.get(mode).uses_photo and not options["image"]:
            raise CommandError(gettext("--mode %(mode)s starts from a product photo: give --image PATH.") % {"mode": mode})
        if options["image"] and not modes.get(mode).uses_photo:
            raise CommandError(gettext("--image is for %(join)s; --mode %(mode)s does not use a photo.")
                               % {"join": ', '.join(sorted(modes.with_photo())), "mode": mode})
        if options["image"]:
            path: Path = options["image"]
            if not path.is_file():
                raise CommandError(gettext("%(path)s is not a file.") % {"path": path})
            if product is None:
                product, _ = Product.objects.get_or_create(sku="IMPORTED", defaults={"name": gettext("Photos given on the command line")})
            try:
                source, notes = photo_add(product=product, data=path.read_bytes(), name=path.name, user=user)
                for note in notes:
                    self.stderr.write(note)
            except DuplicatePhoto as duplicate:
                source = duplicate.existing
            except ValidationError as exc:
                raise CommandError(f"{path}: {' '.join(exc.messages)}") from None
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None
        params = {p.name: options[p.name] for p in P.PARAMETERS if options[p.name] is not None}
        params["mode"] = mode
        mask = None
        if options["mask"]:
            if not modes.get(mode).uses_mask:
                raise CommandError(gettext("--mask is for %(join)s jobs.")
                                   % {"join": ', '.join(sorted(m.name for m in modes.all_modes() if m.uses_mask))})
            from catalog import masks

            try:
                mask = masks.decode(options["mask"].read_bytes(), (source.width, source.height))
            except (OSError, ValidationError) as exc:
                raise CommandError(f"{options['mask']}: {' '.join(getattr(exc, 'messages', [str(exc)]))}") from None
        try:
            with transaction.atomic():
                job = services.job_create(**params, product=product, source_photo=source, mask=mask, user=user,
                                          model_id=None if options["model"] is None else ("" if options["model"] in ("", "embedded") else options["model"]))
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.pk}")
        if options["inline"]:
            from generation.tasks import run_generation_job

            run_generation_job(job.pk)
        if options["wait"] or options["inline"]:
            finish(self, [job.pk], timeout=options["timeout"])


def output_location(fieldfile) -> str:
    """The file's path on local storage, its URL on remote storage (S3)."""
    try:
        return fieldfile.path
    except NotImplementedError:
        return fieldfile.url


def finish(command: BaseCommand, job_ids: list[int], *, timeout: float | None) -> None:
    """Follow jobs, then print each output path; a failure makes the command fail."""
    from generation.progress import wait_for_jobs

    try:
        jobs = wait_for_jobs(job_ids, stream=command.stderr._out, timeout=timeout)
    except TimeoutError as exc:
        raise CommandError(str(exc)) from None
    failed = []
    for job in jobs:
        if job.status == Status.SUCCEEDED:
            command.stdout.write(output_location(job.output))
        else:
            failed.append(f"job {job.pk} {job.status}: {job.error}")
    if failed:
        raise CommandError("\n".join(failed))
