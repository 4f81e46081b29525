"""Everyday phrasings of a product shot: the prompts a shop types, for the embedded model's text encoder to learn.

The caption grammar of ``productshots`` says every shot one way ("product shot of sleek red water bottle on a
wooden table, studio lighting"). People do not type that: "Red bottle on a wooden table", "wooden table with a
green bottle on it", "RED MUG ON WHITE", "Green trainers on a concrete floor". This module says a shot of a kind,
colour and surface in many shapes of sentence (with and without the grammar's prefixes and suffixes, other word
orders, "on top of", commas and semicolons, plurals, upper and lower case) and with the words a shop uses for what
the renderer draws ("trainers" and "shoes" are its sneakers, "kitchen counter" its marble, "concrete" its gray,
"shelf" and "desk" its wooden table). Words that change nothing the renderer draws ("matte", "glossy",
"outdoors", "ceramic") are said too, so the model learns to read past them.

Pure Python and deterministic: every phrasing is a function of the random generator it is given.
"""
from __future__ import annotations

import random
import re

from generation import productshots

# Product kind -> what a shop calls it (singular; ``plural`` makes the plural).
KINDS: dict[str, tuple[str, ...]] = {
    "headphones": ("headphones", "wireless headphones", "over-ear headphones", "bluetooth headphones", "headset",
                   "noise cancelling headphones", "studio headphones", "gaming headset", "on-ear headphones"),
    "mug": ("mug", "coffee mug", "ceramic mug", "tea mug", "cup", "coffee cup", "travel mug", "espresso cup"),
    "bottle": ("bottle", "water bottle", "insulated bottle", "sports bottle", "reusable bottle", "flask", "thermos",
               "drinking bottle", "steel bottle"),
    "sneaker": ("sneaker", "running shoe", "trainer", "shoe", "sports shoe", "athletic shoe", "runner"),
    "lamp": ("lamp", "desk lamp", "table lamp", "reading lamp", "bedside lamp", "led lamp", "night lamp"),
    "watch": ("watch", "wristwatch", "wrist watch", "smart watch", "smartwatch", "fitness watch", "analog watch",
              "digital watch"),
}
# Colour -> the names a shop gives it, near the renderer's colour (``productshots.COLOURS``).
COLOURS: dict[str, tuple[str, ...]] = {
    "black": ("black", "jet black", "all black"),
    "white": ("white", "pure white", "snow white"),
    "red": ("red", "bright red", "cherry red", "crimson"),
    "blue": ("blue", "royal blue", "cobalt blue", "bright blue"),
    "green": ("green", "emerald green", "forest green", "bright green"),
    "yellow": ("yellow", "lemon yellow", "sunny yellow", "mustard yellow"),
    "orange": ("orange", "bright orange", "tangerine"),
    "pink": ("pink", "hot pink", "bubblegum pink", "rose pink"),
}
# Surface -> (things to stand on, backdrops to stand against). "table" and "desk" are the renderer's wooden table;
# a kitchen counter its marble; concrete its gray; a dark desk its black.
SURFACES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "white": (("white table", "white surface", "white sweep", "white"),
              ("white background", "white backdrop", "plain white background", "clean white background", "white wall",
               "seamless white background", "white studio background", "pure white")),
    "gray": (("concrete", "concrete floor", "grey concrete", "gray concrete", "concrete surface", "cement floor",
              "gray counter", "grey counter", "grey surface", "gray table"),
             ("gray background", "grey background", "grey backdrop", "gray wall", "grey wall", "neutral grey",
              "gray backdrop", "concrete wall")),
    "black": (("black table", "black surface", "dark surface", "dark desk", "dark table", "black"),
              ("black background", "dark background", "black backdrop", "dark backdrop", "black wall",
               "dark wall", "pitch black background")),
    "wood": (("wooden table", "wood table", "rustic wooden table", "rustic table", "table", "desk", "wooden desk",
              "shelf", "wooden shelf", "bench", "wooden bench", "wooden floor", "wood floor", "oak table",
              "kitchen table", "dining table", "walnut desk", "tabletop", "wooden board"),
             ("wooden wall", "wood panel background", "wooden backdrop")),
    "marble": (("marble", "marble surface", "marble countertop", "marble counter", "kitchen counter", "countertop",
                "marble table", "white marble", "marble slab", "marble tabletop", "bathroom counter"),
               ("marble wall", "marble background", "marble backdrop")),
    "blue": (("blue table", "blue surface", "blue"),
             ("blue background", "blue backdrop", "blue wall", "pastel blue background", "light blue background",
              "sky blue background", "baby blue backdrop", "soft blue backdrop", "pastel blue backdrop")),
}
ON = ("on a", "on", "on the", "on top of a", "on top of the", "resting on a", "standing on a", "sitting on a",
      "placed on a", "on a clean", "over a")
AGAINST = ("against a", "on a", "in front of a", "with a", "on", "against the", "next to a", "over a")
PREFIXES = ("", "", "", "", "a photo of", "photo of", "picture of", "image of", "shot of", "product photo of",
            "minimal shot of", "close-up of", "studio shot of", "catalog photo of", "e-commerce photo of",
            "product shot of")
POSSESSIVES = ("my", "our", "this", "the new")  # take the article's place
ARTICLES = ("a", "", "", "the", "one")
ADJECTIVES = ("", "", "", "", "matte", "glossy", "sleek", "modern", "minimalist", "premium", "new", "stylish",
              "simple", "classic", "elegant", "compact", "metal", "plastic", "ceramic", "stainless steel", "leather",
              "insulated", "vintage", "small", "large", "cute", "shiny")
SUFFIXES = ("", "", "", "", "", ", studio lighting", ", soft light", ", natural light", ", high quality",
            ", 4k", ", realistic", ", photorealistic", ", product photography", " for our shop", ", centered",
            ", side view", ", front view", ", close up", ", minimal", ", clean", " - product photo", " outdoors",
            " outside", " in daylight", " indoors")
AN = re.compile(r"(^|\s)a ([aeiou])")
QUANTITIES = ("two", "three", "set of", "a few")
PAIRED = ("pair of", "a pair of")  # shoes and headphones come in pairs
MASS = ("white", "black", "blue", "marble", "concrete", "white marble", "pure white")  # "on marble", "on white"


def plural(noun: str) -> str:
    if noun.endswith("headphones"):
        return noun
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def product(kind: str, colour: str, rng: random.Random) -> str:
    """"a red mug", "red mugs", "two red mugs", "a mug in red", "pair of green trainers"."""
    noun, name = rng.choice(KINDS[kind]), rng.choice(COLOURS[colour])
    adjective = rng.choice(ADJECTIVES)
    article = rng.choice(POSSESSIVES) if rng.random() < 0.1 else rng.choice(ARTICLES)
    shape = rng.random()
    if shape < 0.55:
        words = [article, adjective, name, noun] if rng.random() < 0.5 else [article, name, adjective, noun]
    elif shape < 0.7:
        words = [article, adjective, noun, "in", name]
    elif shape < 0.85:
        words = [name, adjective, plural(noun)]
    else:
        many = QUANTITIES + (PAIRED * 2 if kind in ("sneaker", "headphones") else ())
        words = [rng.choice(many), name, adjective, plural(noun)]
    return " ".join(w for w in words if w)


def where(surface: str, rng: random.Random) -> tuple[str, str]:
    """(a clause such as "on a wooden table", the bare noun phrase "wooden table") for the surface."""
    on, against = SURFACES[surface]
    place = rng.choice(on) if rng.random() < 0.6 else rng.choice(against)
    if place in MASS:
        return f"{rng.choice(('on', 'on', 'against', 'over'))} {place}", place
    return f"{rng.choice(ON if place in on else AGAINST)} {place}", place


def backdrop(colour: str) -> str:
    """The surface a shot of a ``colour`` product is on when its prompt names none: a packshot's white backdrop, gray
    for a white product (one it stands out against). What the text encoder learns to read into "black headphones"."""
    return "gray" if colour == "white" else "white"


def caption(kind: str, colour: str, surface: str | None, rng: random.Random) -> str:
    """One everyday phrasing of a shot; ``surface`` None leaves the surface unsaid ("photo of a blue water bottle")."""
    thing, shape = product(kind, colour, rng), 0.0
    if surface is None:
        text = thing
    else:
        clause, place = where(surface, rng)
        shape = rng.random()
        if shape < 0.6:
            text = f"{thing} {clause}"
        elif shape < 0.7:
            text = f"{place} with {thing} on it"
        elif shape < 0.8:
            text = f"{rng.choice(('on top of a', 'on a', 'on'))} {place}{rng.choice((':', ',', ' -'))} {thing}"
        else:
            text = f"{thing}{rng.choice((',', ';', ' -', ' |', ','))} {place}"
    prefix = rng.choice(PREFIXES) if shape < 0.6 else ""  # not before a sentence that starts with its surface
    text = " ".join(w for w in (prefix, text) if w) + rng.choice(SUFFIXES)
    text = AN.sub(r"\1an \2", " ".join(text.replace(" ,", ",").split()))
    case = rng.random()
    if case < 0.1:
        return text.upper()
    if case < 0.25:
        return text[0].upper() + text[1:]
    if case < 0.3:
        return text.title()
    return text


def words() -> list[str]:
    """Every phrase this module can say, for the tokenizer's merges."""
    out = [p for phrases in KINDS.values() for p in phrases] + [plural(p) for phrases in KINDS.values() for p in phrases]
    out += [p for phrases in COLOURS.values() for p in phrases]
    out += [p for on, against in SURFACES.values() for p in on + against]
    out += list(ON + AGAINST + PREFIXES + POSSESSIVES + ARTICLES + ADJECTIVES + SUFFIXES + QUANTITIES + PAIRED)
    out += ["in", "with", "it", "an"]
    return [w for w in out if w]


def grammar_caption(kind: str, colour: str, surface: str, rng: random.Random) -> str:
    """The same shot in the caption grammar the embedded model was first trained on (the phrasing teacher's)."""
    return productshots.caption_for(kind, colour, surface, rng)
