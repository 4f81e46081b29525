"""Product in a new scene: the product's own pixels kept through its mask, everything around it generated."""
from __future__ import annotations

from generation import scene
from generation.modes.base import COMPOSITE, TRAINED, Action, Mode, Prepared
from sdstudio.words import gettext_noop


PREVIEW_GREY = (200, 200, 200)


class Scene(Mode):
    name = "scene"
    label = gettext_noop("Product in a new scene")
    parameters = ("product_scale", "product_x", "product_y", "product_anchor", "edges", "shadow", "shadow_opacity", "shadow_softness", "light",
                  "controlnet_conditioning_scale")
    uses_photo = True
    uses_mask = True
    # Given the grammar's caption, which names the product, the inpainting UNet drew more product around the kept one:
    # ghosts in 36.6% of the bench's scenes against 26.2% with the prompt as typed (surface 91.7% against 87.8%).
    reads_prompt = False
    # C2PA 2: a new canvas is created and the product photo placed on it (a componentOf ingredient).
    actions = (Action("c2pa.created", TRAINED), Action("c2pa.placed", COMPOSITE, names_source=True))
    ingredient_relationship = "componentOf"
    measures = ("product_max_pixel_diff", "background_change")
    controlnet_pipeline = "StableDiffusionControlNetInpaintPipeline"

    def pipeline(self, loaded, *, edge_guidance: bool):
        unet = loaded.inpaint_unet()  # a 9-channel inpainting UNet (config.inpaint_label), or None for the model's own
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
        if not loaded.config.inpaint_label:
            return {}
        return {"inpaint_model": loaded.config.inpaint_label, "kept_latents": "renoised"}

    def step_hook(self, pipe, specs, prepared, generators):
        """With a 9-channel UNet: after each step, the kept region's latents are the photo's, noised to the next step.

        diffusers does this only for 4-channel UNets and leaves a 9-channel one to draw the kept region itself. But an
        inpainting UNet is trained on noisy latents of the whole true image, the kept region included. On the embedded
        one, putting them back drew the asked surface around the product in 91 of 112 bench scenes instead of 82
        (bench/adherence.py --parts scene). The noise is the pipeline's own starting noise (a fresh generator of the
        job's seed: a scene starts from pure noise), so a re-run gives the same pixels.
        """
        if pipe.unet.config.in_channels != 9:
            return None
        import torch

        height, width = specs[0].height, specs[0].width
        factor = pipe.vae_scale_factor
        device, dtype = pipe._execution_device, pipe.vae.dtype
        images = pipe.image_processor.preprocess([p.arguments["image"] for p in prepared], height=height, width=width)
        masks = pipe.mask_processor.preprocess([p.arguments["mask_image"] for p in prepared], height=height, width=width)
        with torch.inference_mode():
            kept = pipe.vae.encode(images.to(device, dtype)).latent_dist.mode() * pipe.vae.config.scaling_factor
        repaint = torch.nn.functional.interpolate(masks, size=(height // factor, width // factor)).to(device, kept.dtype)
        # The pipeline's prepare_latents draws its noise first from each image's generator.
        noise = torch.cat([torch.randn((1, *kept.shape[1:]), generator=generator) for generator in generators])
        noise = noise.to(device, kept.dtype)

        def renoise_kept(pipeline, step_index: int, callback_kwargs: dict) -> dict:
            timesteps = pipeline.scheduler.timesteps
            proper = kept
            if step_index < len(timesteps) - 1:
                proper = pipeline.scheduler.add_noise(kept, noise, timesteps[step_index + 1:step_index + 2])
            latents = callback_kwargs["latents"]
            callback_kwargs["latents"] = (1 - repaint) * proper.to(latents.dtype) + repaint * latents
            return callback_kwargs

        renoise_kept.tensors = ["latents"]
        return renoise_kept

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
                           anchor=spec.product_anchor or "centre", edges=spec.edges or "feather", shadow=spec.shadow or "none", opacity=spec.shadow_opacity or 0.0,
                           softness=spec.shadow_softness or 0.06, light=spec.light or 0.0)
