"""What the embedded model reads: its tokenizer's phrases, the prompt words it never saw, the job form's word list.

The caption grammar (``productshots``) and the everyday phrasings its text
encoder learned since v3 (``phrasing``) together.
"""
from __future__ import annotations

import functools
import re

from generation import phrasing, productshots

WORD = re.compile(r"[^\W_]+")


def vocabulary_text() -> list[str]:
    """Every phrase the captions can hold, for the tokenizer's merges."""
    return productshots.grammar_words() + phrasing.words()


@functools.lru_cache(maxsize=1)
def understood_words() -> frozenset[str]:
    """The words of the captions, lower case: all the embedded model was trained to read."""
    return frozenset(WORD.findall(" ".join(vocabulary_text()).lower()))


def unknown_words(text: str) -> list[str]:
    """The prompt's words the embedded model never saw in a caption (each once, in the prompt's order; numbers aside)."""
    known, seen = understood_words(), []
    for word in WORD.findall(text.lower()):
        if word not in known and not word.isdigit() and word not in seen:
            seen.append(word)
    return seen


def vocabulary_summary() -> dict[str, list[str]]:
    """What the job form lists under the prompt: the product kinds, colours and surfaces the embedded model draws."""
    def unique(*groups) -> list[str]:
        return list(dict.fromkeys(p for group in groups for phrases in group for p in phrases))

    return {"kinds": unique(productshots.KINDS.values(), phrasing.KINDS.values()),
            "colours": unique(phrasing.COLOURS.values()),
            "surfaces": unique((phrases for phrases, _ in productshots.SURFACES.values()),
                               (on + against for on, against in phrasing.SURFACES.values()))}
