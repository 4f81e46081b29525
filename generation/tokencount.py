"""Count a prompt's CLIP tokens with the served model's own tokenizer, in the web process (tokenizers: no torch).

CLIP reads 77 tokens, two of them the start and end markers: 75 are the prompt's.
What comes after is cut (diffusers logs it on the worker); the job form shows
the count as A1111 does ("n/75") and, past the limit, the words that will be
ignored.
"""
from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from generation import modelinfo

LIMIT = 75
CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def tokenizer_folder() -> Path | None:
    """Where the served model keeps its tokenizer, without loading the model; None when it is not on this machine."""
    from generation.inference.embedded import embedded_folder  # no torch at import

    size = modelinfo.embedded_size()
    if size:
        return embedded_folder(settings.SDSTUDIO_MODEL_CACHE, size) / "tokenizer"
    location = Path(modelinfo.configured())
    if location.is_dir():
        return location / "tokenizer"
    try:  # a Hub id at the served revision: the local Hugging Face cache only, never a download
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(modelinfo.configured(), revision=settings.SDSTUDIO_MODEL_REVISION or None,
                                      allow_patterns=["tokenizer/*"], local_files_only=True)) / "tokenizer"
    except Exception:
        return None


@functools.lru_cache(maxsize=4)
def _load(folder: str):
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    path = Path(folder)
    if (path / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_padding()  # saved with the model's padding and truncation to 77: the count wants the whole prompt
        tokenizer.no_truncation()
        return tokenizer
    # A slow tokenizer's files (SD v1.5's): CLIP's pipeline as transformers builds its fast tokenizer from them.
    tokenizer = Tokenizer(BPE.from_file(str(path / "vocab.json"), str(path / "merges.txt"), unk_token="<|endoftext|>",
                                        end_of_word_suffix="</w>", continuing_subword_prefix=""))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def count(text: str, mode: str | None = None) -> dict:
    """{"count", "limit", "over", "ignored"}: how many tokens the prompt takes, and the text CLIP will not read; on the
    embedded model also "unknown", the words it was never trained on, and on the trained one "read_as", the caption
    it is given in place of the prompt ("" when it is given the prompt as typed: generation.reading; a ``mode`` that
    does not read prompts, the scene, never has one)."""
    folder = tokenizer_folder()
    if folder is None or not folder.is_dir():
        return {"count": None, "limit": LIMIT, "over": False, "ignored": "", "available": False}
    encoding = _load(str(folder)).encode(text or "", add_special_tokens=False)
    total = len(encoding.ids)
    ignored = text[encoding.offsets[LIMIT][0]:].strip() if total > LIMIT else ""
    result = {"count": total, "limit": LIMIT, "over": total > LIMIT, "ignored": ignored, "available": True}
    if modelinfo.is_embedded():  # trained on the captions' words only: the others are as good as absent
        from generation import vocabulary

        result["unknown"] = vocabulary.unknown_words(text or "")
    if modelinfo.embedded_size() == "demo":  # the trained one reads everyday prompts into its captions
        from generation import reading

        read_as = reading.given(text or "", embedded_size="demo", mode=mode or "text2img")
        result["read_as"] = read_as if read_as != (text or "") else ""
    return result
