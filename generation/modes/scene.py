"""Product in a new scene: the product's own pixels kept through its mask, everything around it generated."""
from __future__ import annotations

from generation import scene
from generation.modes.base import COMPOSITE, TRAINED, Action, Mode, Prepared
from sdstudio.words import gettext_noop


PREVIEW_GREY = (200, 200, 200)


class Scene(Mode):
    name = "scene"
    label = gettext_noop("Product in a new scene")
    parameters = ("product_scale", "product_x", "product_y", "edges", "shadow", "shadow_opacity", "shadow_softness", "light",
                  "controlnet_conditioning_scale")
    uses_photo = True
    uses_mask = True
    # C2PA 2: a new canvas is created and the product photo placed on it (a componentOf ingredient).
    actions = (Action("c2pa.created", TRAINED), Action("c2pa.placed", COMPOSITE, names_source=True))
    ingredient_relationship = "componentOf"
    measures = ("product_max_pixel_diff", "background_change")
    controlnet_pipeline = "StableDiffusionControlNetInpaintPipeline"

    def pipeline(self, loaded, *, edge_guidance: bool):
        unet = loaded.inpaint_unet()  # SDSTUDIO_INPAINT_MODEL's 9-channel UNet, or None for the model's own
        modules = {"unet": unet} if unet is not None else {}
        if edge_guidance:
            return loaded.derive(self.controlnet_pipeline, controlnet=loaded.controlnet(), **modules)
        return loaded.derive("StableDiffusionInpaintPipeline", **modules)

    def admission(self, values, mask):
        """What the job keeps of its photo (share, pieces) and how much it enlarges it; more than 4x is refused."""
        share, pieces = scene.kept_region(mask)
        factor = scene.enlargement(mask, (values["width"], values["height"]), values["product_scale"])
        errors = {}
        if factor > scene.ENLARGEMENT_MAX:
            errors["product_scale"] = (f"The product would be shown {factor:.1f} times its size on the photo (at most "
                                       f"{scene.ENLARGEMENT_MAX:g}): choose a smaller product size or canvas, or a photo "
                                       "where the product is larger.")
        from sdstudio import matting

        # the soft band of the matte, as wide as it shows on the output (both sides of the edge)
        band = round(2 * matting.band_radius(mask.size) * factor) if values.get("edges") == "matte" else 0
        return {"kept_share": round(share, 4), "kept_pieces": pieces, "enlargement": round(factor, 2), "edge_band": band}, errors

    def kept_mask(self, photo, mask, values, *, alpha=None):
        """A matte (soft along the product's edge, sdstudio.matting; a cut-out's own alpha there) for ``matte`` edges;
        the binary mask for feather."""
        from sdstudio import matting

        return matting.matte(photo, mask, alpha) if values.get("edges") == "matte" else mask

    def preview(self, photo, mask, spec, *, alpha=None):
        """The product placed as the job would place it, with its shadow, over a neutral grey, its kept region outlined."""
        from PIL import Image

        if mask is None:
            return None
        placed = self._place(photo, self.kept_mask(photo, mask, {"edges": spec.edges}, alpha=alpha), spec)
        image = scene.composite(Image.new("RGB", placed.canvas.size, PREVIEW_GREY), placed).convert("RGBA")
        image.alpha_composite(scene.outline(placed.mask))
        return image.convert("RGB")

    def environment(self, loaded) -> dict:
        return {"inpaint_model": loaded.config.inpaint_model} if loaded.config.inpaint_model else {}

    def prepare(self, spec) -> Prepared:
        if spec.mask_image is None:
            raise ValueError("A scene needs the product's mask.")
        placed = self._place(spec.source_image, spec.mask_image, spec)
        # diffusers repaints where its mask is white: everything but the product's solid interior.
        return Prepared(arguments={"image": placed.canvas, "mask_image": scene.repaint_mask(placed)}, state=placed,
                        reference=placed.canvas)

    def call_arguments(self, spec) -> dict:
        return {"width": spec.width, "height": spec.height, "strength": 1.0}  # the scene starts from noise

    def finish(self, image, prepared: Prepared):
        return scene.composite(image, prepared.state)

    def measure(self, image, prepared: Prepared) -> dict:
        kept = scene.scene_fidelity(image, prepared.state)
        return {"product_max_pixel_diff": kept.product_max_pixel_diff, "background_change": kept.background_change}

    def reference(self, photo, mask, spec):
        if mask is None:
            return None, None
        placed = self._place(photo, mask, spec)
        return placed.canvas, placed.mask

    @staticmethod
    def _place(photo, mask, spec) -> scene.Placed:
        return scene.place(photo, mask, (spec.width, spec.height), scale=spec.product_scale, x=spec.product_x, y=spec.product_y,
                           edges=spec.edges or "feather", shadow=spec.shadow or "none", opacity=spec.shadow_opacity or 0.0,
                           softness=spec.shadow_softness or 0.06, light=spec.light or 0.0)
