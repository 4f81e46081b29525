"""What a generation mode is: everything one mode means, declared in one place (generation.modes registers them).

A mode says what it is called, which parameters and inputs it takes (a product photo, the product's mask), how
its pipeline is built from the loaded model's modules, what the pipeline is called with, what is done to the
image after the call and measured on it, and its provenance: the C2PA actions of its Content Credentials and the
IPTC digital source type of its XMP. Plain Python (Pillow, numpy): no Django, no torch at import, so the web
process, the worker and the pure runner all read the same modes. The pipeline hooks import diffusers when called.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sdstudio.iptc import COMPOSITE, TRAINED  # noqa: F401  (the modes' own modules import them from here)


@dataclass(frozen=True)
class Action:
    """One entry of the output's ``c2pa.actions.v2`` assertion (C2PA 2: the first is created or opened)."""

    action: str  # c2pa.created, c2pa.opened, c2pa.edited, c2pa.placed, ...
    source_type: str = ""  # IPTC digital source type, "" when the action made no new media (opened)
    names_source: bool = False  # the action names the source photo's ingredient


@dataclass
class Prepared:
    """One image's inputs to the pipeline call, and what the mode needs again after it."""

    arguments: dict[str, Any] = field(default_factory=dict)  # per image: image, mask_image (batched into lists)
    state: Any = None  # e.g. the placed product, to composite it back
    reference: Any = None  # what fidelity is measured against, and the edge map is taken from


class Mode:
    """A generation mode. Subclasses set the class attributes and override the hooks they need."""

    name: ClassVar[str]
    label: ClassVar[str]
    # The mode-specific parameters it uses (generation.parameters marks them per_mode); the shared ones always apply.
    parameters: ClassVar[tuple[str, ...]] = ()
    uses_photo: ClassVar[bool] = False  # starts from one of the product's photos
    uses_mask: ClassVar[bool] = False  # keeps the product's pixels through its mask (the job stores its own copy)
    # The trained embedded model is given its reading of the prompt (generation.reading), not the prompt as typed.
    reads_prompt: ClassVar[bool] = True
    actions: ClassVar[tuple[Action, ...]] = (Action("c2pa.created", TRAINED),)
    # How the source photo relates to the output in the manifest (parentOf, componentOf); "" without a photo.
    ingredient_relationship: ClassVar[str] = ""
    # The measurements it stores on the job (field names), for pages that show them.
    measures: ClassVar[tuple[str, ...]] = ()
    # diffusers' ControlNet pipeline class when the mode takes edge guidance.
    controlnet_pipeline: ClassVar[str] = ""

    @property
    def digital_source_type(self) -> str:
        """IPTC's digital source type of the output: that of the last action, the one that made the delivered image."""
        return next(a.source_type for a in reversed(self.actions) if a.source_type)

    @property
    def takes_edge_guidance(self) -> bool:
        return "controlnet_conditioning_scale" in self.parameters

    def uses(self, parameter: str, *, per_mode: bool) -> bool:
        return not per_mode or parameter in self.parameters

    # -- inference (called by generation.inference.runner with the model loaded) --

    def environment(self, loaded) -> dict:
        """Extra models this mode's jobs ran with, for the fingerprint a re-run must match."""
        return {}

    def pipeline(self, loaded, *, edge_guidance: bool):
        """The pipeline to call, a view of ``loaded``'s modules (``from_pipe``: no second copy)."""
        return loaded.text2img

    def prepare(self, spec) -> Prepared:
        """One image's pipeline inputs (a JobSpec: the parameters, source_image, mask_image)."""
        return Prepared()

    def call_arguments(self, spec) -> dict[str, Any]:
        """The arguments the whole call shares beyond prompt, steps, guidance and seeds (batch keys only)."""
        return {"width": spec.width, "height": spec.height}

    def step_hook(self, pipe, specs, prepared: list[Prepared], generators: list):
        """A function (pipeline, step index, callback kwargs) -> callback kwargs run after every denoising step, with
        the tensors it names in ``tensors`` (an attribute), or None. ``generators``: a fresh one per image, seeded as
        the pipeline's own."""
        return None

    def finish(self, image, prepared: Prepared):
        """The delivered image from the pipeline's output."""
        return image

    def measure(self, image, prepared: Prepared) -> dict[str, Any]:
        """Job fields measured on the delivered image (see ``measures``)."""
        return {}

    def reference(self, photo, mask, spec) -> tuple[Any, Any]:
        """(what the output is compared with, the kept mask) at the output's size, for reviewers; (None, None) if none."""
        return None, None

    def admission(self, values: dict[str, Any], mask) -> tuple[dict[str, Any], dict[str, str]]:
        """At job creation: (job fields the mode records about its inputs, field errors that refuse the job)."""
        return {}, {}

    def preview(self, photo, mask, spec, *, alpha=None):
        """What the pipeline will start from, for the job form (``spec``: the parameters); None for none."""
        return self.reference(photo, mask, spec)[0]

    def kept_mask(self, photo, mask, values: dict[str, Any], *, alpha=None):
        """The mask a job of this mode stores (its frozen copy) from the photo and its checked binary ``mask``
        (``alpha``: a cut-out's own alpha channel, or None)."""
        return mask

    def warm_up_inputs(self, width: int, height: int) -> dict[str, Any]:
        """Inputs for a two-step warm-up run at a served shape (the runner adds the parameters' defaults)."""
        from PIL import Image

        inputs: dict[str, Any] = {}
        if self.uses_photo:
            inputs["source_image"] = Image.new("RGB", (width, height), (128, 128, 128))
        if self.uses_mask:
            mask = Image.new("L", (width, height), 0)
            mask.paste(255, (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
            inputs["mask_image"] = mask
        return inputs
