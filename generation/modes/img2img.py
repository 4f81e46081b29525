"""Image to image: the product photo restyled, ``strength`` of the way back to noise (the brief's exercise 4)."""
from __future__ import annotations

from generation import fidelity, scene
from generation.modes.base import COMPOSITE, Action, Mode, Prepared
from sdstudio.words import gettext_noop


class Img2Img(Mode):
    name = "img2img"
    label = gettext_noop("Image to image")
    parameters = ("strength", "fit", "controlnet_conditioning_scale")
    uses_photo = True
    # C2PA 2: opened takes a parentOf ingredient (the photo); the edit carries the parameters.
    actions = (Action("c2pa.opened", names_source=True), Action("c2pa.edited", COMPOSITE))
    ingredient_relationship = "parentOf"
    measures = ("fidelity_ssim", "fidelity_phash_distance")
    controlnet_pipeline = "StableDiffusionControlNetImg2ImgPipeline"

    def pipeline(self, loaded, *, edge_guidance: bool):
        if edge_guidance:
            return loaded.derive(self.controlnet_pipeline, controlnet=loaded.controlnet())
        return loaded.img2img

    def prepare(self, spec) -> Prepared:
        source = scene.prepare_source(spec.source_image, spec.width, spec.height, spec.fit)
        return Prepared(arguments={"image": source}, reference=source)

    def call_arguments(self, spec) -> dict:
        return {"strength": spec.strength}  # the size is the source's

    def measure(self, image, prepared: Prepared) -> dict:
        ssim, distance = fidelity.fidelity(prepared.reference, image)
        return {"fidelity_ssim": ssim, "fidelity_phash_distance": distance}

    def reference(self, photo, mask, spec):
        return scene.prepare_source(photo, spec.width, spec.height, spec.fit), None
