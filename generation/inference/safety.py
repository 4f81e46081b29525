"""The model's safety checker as a review signal: it flags an output, it never blackens it.

diffusers' pipelines run ``StableDiffusionSafetyChecker`` inside the call and
return a black image for anything flagged; product shots with skin, swimwear or
lingerie are flagged often. SD Studio takes the checker out of the pipeline at
load time and runs it itself on every finished image: the verdict and its
score are stored on the job, the pixels are kept, and reviewers see flagged
outputs blurred with a warning (``SDSTUDIO_SAFETY_CHECKER=off`` skips it).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

# diffusers warns "A black image will be returned instead" for each flagged image: not what SD Studio does.
logging.getLogger("diffusers.pipelines.stable_diffusion.safety_checker").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    score: float  # the highest concept similarity above its threshold; > 0 is what flags


class SafetyCheck:
    """The checker and its feature extractor, as loaded from the model, on the worker's device."""

    def __init__(self, checker, feature_extractor, device: str, dtype: torch.dtype):
        self.checker, self.feature_extractor, self.device, self.dtype = checker, feature_extractor, device, dtype

    def __call__(self, images: list[Image.Image]) -> list[Verdict]:
        from diffusers.pipelines.stable_diffusion.safety_checker import cosine_distance

        inputs = self.feature_extractor(images, return_tensors="pt").pixel_values.to(self.device, self.dtype)
        embeds: list[torch.Tensor] = []
        hook = self.checker.visual_projection.register_forward_hook(lambda module, args, output: embeds.append(output))
        try:
            # The checker's own decision; the arrays it blackens are throwaway copies.
            copies = [np.zeros((1, 1, 3), dtype=np.float32) for _ in images]
            with torch.inference_mode():
                _, flags = self.checker(clip_input=inputs, images=copies)
        finally:
            hook.remove()
        cos = cosine_distance(embeds[0], self.checker.concept_embeds).float()
        scores = (cos - self.checker.concept_embeds_weights.float()).max(dim=1).values.cpu().tolist()
        return [Verdict(bool(flag), round(float(score), 4)) for flag, score in zip(flags, scores)]
