"""Text to image: the prompt alone, from noise (the brief's exercises 2 and 3)."""
from __future__ import annotations

from generation.modes.base import TRAINED, Action, Mode
from sdstudio.words import gettext_noop


class Text2Img(Mode):
    name = "text2img"
    label = gettext_noop("Text to image")
    actions = (Action("c2pa.created", TRAINED),)
