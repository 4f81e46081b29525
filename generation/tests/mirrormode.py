"""A fourth mode, from this one file: the product photo mirrored, then restyled like img2img.

It exists to show what adding a mode takes (tests/test_fourth_mode.py runs it end to end through a real worker,
which imports it with SDSTUDIO_EXTRA_MODES=generation.tests.mirrormode): a Mode subclass and one register call.
"""
from __future__ import annotations

from PIL import ImageOps

from generation import fidelity, modes, scene
from generation.modes import COMPOSITE, Action, Mode, Prepared


class Mirror(Mode):
    name = "mirror"
    label = "Mirrored restyle"
    parameters = ("strength",)
    uses_photo = True
    actions = (Action("c2pa.opened", names_source=True), Action("c2pa.orientation"), Action("c2pa.edited", COMPOSITE))
    ingredient_relationship = "parentOf"
    measures = ("fidelity_ssim", "fidelity_phash_distance")

    def pipeline(self, loaded, *, edge_guidance: bool):
        return loaded.derive("StableDiffusionImg2ImgPipeline")

    def prepare(self, spec) -> Prepared:
        mirrored = ImageOps.mirror(scene.prepare_source(spec.source_image, spec.width, spec.height))
        return Prepared(arguments={"image": mirrored}, reference=mirrored)

    def call_arguments(self, spec) -> dict:
        return {"strength": spec.strength}

    def measure(self, image, prepared: Prepared) -> dict:
        ssim, distance = fidelity.fidelity(prepared.reference, image)
        return {"fidelity_ssim": ssim, "fidelity_phash_distance": distance}

    def reference(self, photo, mask, spec):
        return ImageOps.mirror(scene.prepare_source(photo, spec.width, spec.height)), None


MIRROR = modes.register(Mirror)
