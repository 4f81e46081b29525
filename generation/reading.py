"""How the default (embedded) model reads a prompt: everyday words and sentences into the caption it draws best.

The embedded model's text encoder has 2 layers and 0.1 M parameters. Taught the everyday phrasings of
``phrasing`` it reads the words, but not the sentence: on hand-written prompts its colours, kinds and
surfaces came out right far less often than on its caption grammar ("product shot of red water bottle on a
wooden table, studio lighting"). A sentence's structure is what such a small encoder cannot learn, and what
a few lines of code read exactly. So the model reads a prompt the way a shop's search box does: it finds the
product kind, the colour and the surface by their everyday names (``phrasing``'s tables, the longest phrase
first: "desk lamp" before "desk", "white marble" before "white"), a surface by its noun and what it is made
of or coloured ("a grey table", "a concrete shelf", "on white"), and hands the model its caption in the
grammar it was trained on. The job keeps the prompt as typed; what the model was given is stored beside it.

A prompt already in the caption grammar (the lab brief's study prompts) is given as typed; so is one that
names no kind, or more than one kind, colour or surface ("a red and white mug"), or a surface right after a word the
model never read ("a granite shelf"): those are not guessed at.
Only the trained embedded model reads prompts this way; SD v1.5 and every other model get the prompt as typed.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from generation import phrasing, productshots, vocabulary

# A surface named by what it is made of or its colour, and a noun ("a grey table", "a concrete shelf", "a white
# desk"): the renderer's surface. "dark" and wood words only before a noun ("a dark desk"); the rest alone too
# after "on", "against", "over" or a comma ("on white", "red headphones against grey", "an orange mug, marble").
SURFACE_WORDS = {
    "white": "white", "pure white": "white", "snow white": "white", "off-white": "white",
    "black": "black", "dark": "black", "dark grey": "black", "dark gray": "black",
    "grey": "gray", "gray": "gray", "light grey": "gray", "light gray": "gray", "concrete": "gray", "cement": "gray",
    "blue": "blue", "light blue": "blue", "pastel blue": "blue", "sky blue": "blue", "baby blue": "blue",
    "soft blue": "blue", "pale blue": "blue",
    "marble": "marble", "white marble": "marble",
    "wooden": "wood", "wood": "wood", "oak": "wood", "walnut": "wood", "pine": "wood", "rustic": "wood",
    "rustic wooden": "wood", "light wooden": "wood", "dark wooden": "wood", "light wood": "wood", "dark wood": "wood",
}
SURFACE_NOUNS = ("table", "desk", "shelf", "floor", "wall", "bench", "counter", "countertop", "surface", "backdrop",
                 "background", "board", "tabletop", "worktop")
ALONE_AFTER = ("on", "against", "over", ",", ";", ":", "|", "-")
NOT_ALONE = ("dark", "wooden", "rustic", "rustic wooden", "light wooden", "dark wooden")
ALONE = frozenset(w for w in SURFACE_WORDS if w not in NOT_ALONE)


@dataclass(frozen=True)
class Reading:
    kind: str
    colour: str | None
    surface: str
    surface_said: bool  # False: the prompt names no surface; the model's usual backdrop for the colour is drawn

    @property
    def caption(self) -> str:
        """The shot in the caption grammar: what the embedded model is given."""
        colour = f"{self.colour} " if self.colour else ""
        return (f"product shot of {colour}{productshots.KINDS[self.kind][0]} on a "
                f"{productshots.SURFACES[self.surface][0][0]}, studio lighting")


Phrases = tuple[tuple[str, str, re.Pattern], ...]  # (phrase, name, its pattern), the longest phrase first


def _table(pairs) -> dict[str, str]:
    return {phrase.lower(): name for phrase, name in pairs}


def _compiled(table: dict[str, str]) -> Phrases:
    """Compiled once: the tables hold more phrases than ``re`` caches, and the job form reads on every keystroke."""
    return tuple((phrase, table[phrase], re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])"))
                 for phrase in sorted(table, key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[Phrases, Phrases, Phrases]:
    kinds = _table((p, k) for k, ps in phrasing.KINDS.items() for p in ps)
    kinds.update(_table((p, k) for k, ps in productshots.KINDS.items() for p in ps))
    kinds.update({phrasing.plural(p): k for p, k in list(kinds.items())})
    colours = _table((p, c) for c, ps in phrasing.COLOURS.items() for p in ps)
    surfaces = _table((p, s) for s, (on, against) in phrasing.SURFACES.items() for p in on + against)
    surfaces.update(_table((p, s) for s, (ps, _) in productshots.SURFACES.items() for p in ps))
    for word, surface in SURFACE_WORDS.items():
        for noun in SURFACE_NOUNS:
            surfaces.setdefault(f"{word} {noun}", surface)
        if word not in NOT_ALONE:
            surfaces.setdefault(word, surface)
    return _compiled(kinds), _compiled(colours), _compiled(surfaces)


@functools.lru_cache(maxsize=1)
def _grammar() -> re.Pattern:
    def either(phrases) -> str:
        return "(?:" + "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True)) + ")"

    kinds = [p for ps in productshots.KINDS.values() for p in ps]
    surfaces = [p for ps, _ in productshots.SURFACES.values() for p in ps]
    adjectives = [a for a in productshots.ADJECTIVES if a]
    return re.compile(f"{either(productshots.PREFIXES)} (?:{either(adjectives)} )?{either(productshots.COLOURS)} "
                      f"{either(kinds)} on a {either(surfaces)}{either(productshots.SUFFIXES)}")


def _find(text: str, phrases: Phrases, taken: set[int], alone: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(where, name) of the phrases in ``text``, longest phrase first, each character read once; a phrase in ``alone``
    only after one of ALONE_AFTER."""
    found = []
    for phrase, name, pattern in phrases:
        for match in pattern.finditer(text):
            span = range(match.start(), match.end())
            if taken.intersection(span):
                continue
            if phrase in alone:
                before = text[:match.start()].split()
                if not before or before[-1] not in ALONE_AFTER:
                    continue
            taken.update(span)
            found.append((match.start(), name))
    return sorted(found)


def read(prompt: str) -> Reading | None:
    """The kind, colour and surface a prompt asks for, or None where it names no kind, or two of anything."""
    text = " ".join(re.sub(r"([,;:|]|\s-\s)", r" \1 ", prompt.lower()).split())
    kinds, colours, surfaces = _tables()
    taken: set[int] = set()
    # The kind first ("desk lamp" is no desk), then the surface ("white marble" is no white product), then colours.
    found_kinds = {name for _, name in _find(text, kinds, taken)}
    surface_spans = _find(text, surfaces, taken, ALONE)
    found_surfaces = {name for _, name in surface_spans}
    found_colours = {name for _, name in _find(text, colours, taken)}
    if len(found_kinds) != 1 or len(found_colours) > 1 or len(found_surfaces) > 1:
        return None
    # A word the model never read just before the surface probably says what it is ("a granite shelf"): not a guess.
    known = vocabulary.understood_words()
    if any((before := text[:start].split()) and before[-1] not in known and before[-1] not in ALONE_AFTER
           for start, _ in surface_spans):
        return None
    colour = next(iter(found_colours), None)
    if found_surfaces:
        return Reading(kind=next(iter(found_kinds)), colour=colour, surface=next(iter(found_surfaces)), surface_said=True)
    return Reading(kind=next(iter(found_kinds)), colour=colour, surface=phrasing.backdrop(colour or ""), surface_said=False)


def model_prompt(prompt: str) -> str:
    """What the embedded model is given for ``prompt``: its caption, or the prompt as typed (see the module)."""
    if _grammar().fullmatch(prompt.strip()):
        return prompt
    reading = read(prompt)
    return reading.caption if reading else prompt


def given(prompt: str, *, embedded_size: str | None, mode) -> str:
    """What a model is given for ``prompt`` in ``mode`` (a generation.modes.Mode or its name): the reading on the trained
    embedded model (``embedded_size`` "demo") in a mode that reads prompts; the prompt as typed everywhere else."""
    from generation import modes

    return model_prompt(prompt) if embedded_size == "demo" and modes.get(mode).reads_prompt else prompt
