"""A CLIP BPE vocabulary learned from SD Studio's caption grammar, so the embedded model reads words, not bytes.

The byte-level vocabulary of the random embedded model spends one token per
character: the brief's prompt is cut after "...on a minimalis". Merges learned
here (the classic BPE procedure, deterministic) make every word of the
grammar one token while any other text still encodes byte by byte. The files
are CLIP's own format (vocab.json, merges.txt), loaded by CLIPTokenizer.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import regex

# CLIP's pre-tokenizer pattern (openai/CLIP simple_tokenizer.py).
PATTERN = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE)
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map from bytes to printable characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def token_text(token: str) -> str:
    """The text a vocabulary entry stands for ("trainers</w>" -> "trainers")."""
    table = {c: b for b, c in bytes_to_unicode().items()}
    return bytes(table[c] for c in token.removesuffix("</w>")).decode("utf-8", errors="replace")


def words_of(text: str) -> list[str]:
    table = bytes_to_unicode()
    return ["".join(table[b] for b in piece.encode("utf-8")) for piece in PATTERN.findall(" ".join(text.lower().split()))]


def learn_merges(texts: list[str]) -> list[tuple[str, str]]:
    """Merge the most frequent adjacent pair until every word of ``texts`` is one symbol."""
    counts = Counter(words_of(" ".join(texts)))
    words = {tuple(w[:-1]) + (w[-1] + "</w>",): n for w, n in counts.items()}
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter = Counter()
        for symbols, n in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += n
        if not pairs:
            return merges
        best = max(pairs.items(), key=lambda item: (item[1], item[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        merged = {}
        for symbols, n in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + n
        words = merged


def write_tokenizer_files(directory: Path, texts: list[str] | None = None) -> int:
    """vocab.json and merges.txt: every byte, every byte at a word's end, the learned merges, the two specials.

    With no ``texts`` there are no merges (one token per byte). Returns the vocabulary size.
    """
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    merges = learn_merges(texts) if texts else []
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{left} {right}" for left, right in merges]
    (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(vocab)
