"""Text to image: the prompt alone, from noise (the brief's exercises 2 and 3)."""
from __future__ import annotations

from generation.modes.base import TRAINED, Action, Mode


class Text2Img(Mode):
    name = "text2img"
    label = "Text to image"
    actions = (Action("c2pa.created", TRAINED),)
