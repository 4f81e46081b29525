from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from catalog import masks


class Command(BaseCommand):
    help = (gettext("Find the product on a photo and write its mask (white = product): automatically, or from a box "
                         "around it and points on it (--add) or on the scene (--remove). Prints how sure the automatic mask "
                         "is."))

    def add_arguments(self, parser):
        parser.add_argument("photo", help=gettext("An image file, or the id of a stored product photo."))
        parser.add_argument("--box", help=gettext("x0,y0,x1,y1 around the product, in the photo's pixels."))
        parser.add_argument("--add", nargs="*", default=[], metavar="X,Y", help=gettext("Points on the product."))
        parser.add_argument("--remove", nargs="*", default=[], metavar="X,Y", help=gettext("Points on the scene."))
        parser.add_argument("--out", type=Path, required=True, help=gettext("Where to write the mask (PNG)."))
        parser.add_argument("--matte", type=Path, help=gettext("Also write its soft matte (8-bit, soft along the product's edge) here."))
        parser.add_argument("--save", action="store_true", help=gettext("A stored photo: keep the mask as its own."))

    def handle(self, *args, photo: str, out: Path, **options):
        from catalog import services
        from catalog.models import ProductPhoto
        from sdstudio.images import open_image

        stored = ProductPhoto.objects.filter(pk=int(photo)).first() if photo.isdigit() else None
        if stored is None and not Path(photo).is_file():
            raise CommandError(gettext("%(photo)s is neither an image file nor a stored photo's id.") % {"photo": photo})
        try:
            image = open_image(stored.image) if stored else Image.open(photo)
            image.load()
        except (OSError, UnidentifiedImageError) as exc:
            raise CommandError(gettext("%(photo)s: not an image (%(exc)s).") % {"photo": photo, "exc": exc}) from None
        original, image = image, image.convert("RGB")
        hinted = bool(options["box"] or options["add"] or options["remove"])
        try:
            if hinted:
                box = masks.parse_box(options["box"], image.size) if options["box"] else None
                add, remove = masks.parse_points(options["add"], image.size), masks.parse_points(options["remove"], image.size)
                mask = masks.check(masks.from_hints(image, box=box, add=add, remove=remove), image.size)
            else:
                found, score, method = masks.find_product(image)
                mask = masks.check(found, image.size)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        out.write_bytes(masks.png(mask))
        share = sum(1 for v in mask.getdata() if v) / (image.width * image.height)
        if hinted:
            self.stdout.write(f"wrote {out}: the product from the hints, {share:.1%} of the photo")
        else:
            verdict = "unsure: give a --box around the product" if score < masks.UNSURE_BELOW else "sure"
            how = "seeded from the frame's edge" if method == "border" else gettext("GrabCut from a box just inside the frame")
            self.stdout.write(gettext("wrote %(out)s: the automatic mask (%(how)s), %(share)s of the photo, confidence %(score)s "
                                      "(%(verdict)s)") % {"out": out, "how": how, "share": format(share, '.1%'), "score": format(score, '.2f'), "verdict": verdict})
        if options["matte"]:
            from sdstudio import matting

            options["matte"].write_bytes(masks.png(matting.matte(original, mask), soft=True))
            self.stdout.write(f"wrote {options['matte']}: its matte")
        if options["save"]:
            if stored is None:
                raise CommandError(gettext("--save keeps the mask on a stored photo: give its id."))
            if hinted:
                services.photo_set_mask_from_hints(photo=stored, box=options["box"], add=options["add"], remove=options["remove"])
            else:
                services.photo_set_mask(photo=stored, data=masks.png(mask))
            self.stdout.write(f"photo {stored.pk}: mask saved")
