"""A Hugging Face cache holding stable-diffusion-v1-5/stable-diffusion-v1-5 in the Hub's exact layout, with toy weights.

What ``huggingface_hub`` writes when a user downloads SD v1.5::

    <HF_HUB_CACHE>/models--stable-diffusion-v1-5--stable-diffusion-v1-5/
        refs/main                                   the commit hash "main" resolved to
        blobs/<sha256 or git blob sha1>             the files' bytes, content-addressed
        snapshots/<commit>/model_index.json         -> ../../blobs/<hash> (relative symlinks)
        snapshots/<commit>/unet/config.json, diffusion_pytorch_model.safetensors,
                               diffusion_pytorch_model.fp16.safetensors, ...

Every component of the published repository is there (``model_index.json`` lists
``safety_checker`` and ``feature_extractor`` as the real one does), each with
its config and fp32 and ``fp16`` variant safetensors, at toy size: the embedded
model's UNet, VAE, text encoder and tokenizer, a StableDiffusionSafetyChecker
on a small CLIP vision tower, and SD v1.5's own scheduler and feature-extractor
configs. ``safety_threshold`` sets the checker's concept thresholds: -1 makes
it flag every image (cosine similarity is always above -1), 1 never.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from generation.modelinfo import SD15_HUB_ID

# The published repository's model_index.json (component list as on the Hub).
SD15_MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.6.0",
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
    "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}

# The published feature_extractor/preprocessor_config.json.
SD15_PREPROCESSOR_CONFIG = {
    "crop_size": 224,
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "size": 224,
}


def repo_folder_name(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def _safety_checker(threshold: float):
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig

    config = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4, vocab_size=99,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                           image_size=224, patch_size=32),
        projection_dim=32,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        checker = StableDiffusionSafetyChecker(config)
        with torch.no_grad():
            checker.concept_embeds.normal_()
            checker.special_care_embeds.normal_()
            checker.concept_embeds_weights.fill_(threshold)
            checker.special_care_embeds_weights.fill_(max(threshold, 1.0))  # the special-care pass only adds 0.01
    return checker.eval()


def _save_variants(model, folder: Path, variants: tuple[str, ...]) -> None:
    import torch

    # fp16 first: the config.json written last says float32, as the published ones do (transformers reads its dtype).
    for variant in sorted(variants, key=lambda v: v != "fp16"):
        if variant == "fp16":
            model.to(torch.float16).save_pretrained(folder, safe_serialization=True, variant="fp16")
            model.to(torch.float32)
        else:
            model.save_pretrained(folder, safe_serialization=True)


def write_snapshot(folder: Path, *, variants: tuple[str, ...] = ("fp32", "fp16"), safety_threshold: float = 1.0) -> None:
    """The repository's files (what a snapshot folder shows), toy weights, both variants."""
    from generation.inference.embedded import SD15_SCHEDULER_CONFIG, build_components
    from generation.wordpieces import BOS, EOS, write_tokenizer_files

    folder.mkdir(parents=True, exist_ok=True)
    parts = build_components("tiny")
    (folder / "model_index.json").write_text(json.dumps(SD15_MODEL_INDEX, indent=2))
    for name in ("unet", "vae", "text_encoder"):
        _save_variants(parts[name], folder / name, variants)
    _save_variants(_safety_checker(safety_threshold), folder / "safety_checker", variants)
    # The tokenizer as the repository has it: vocab.json, merges.txt and the two small configs.
    write_tokenizer_files(folder / "tokenizer")
    (folder / "tokenizer" / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}, indent=2))
    (folder / "tokenizer" / "tokenizer_config.json").write_text(json.dumps(
        {"add_prefix_space": False, "bos_token": BOS, "do_lower_case": True, "eos_token": EOS, "errors": "replace",
         "model_max_length": 77, "pad_token": EOS, "tokenizer_class": "CLIPTokenizer", "unk_token": EOS}, indent=2))
    (folder / "scheduler").mkdir()
    (folder / "scheduler" / "scheduler_config.json").write_text(
        json.dumps({**SD15_SCHEDULER_CONFIG, "_diffusers_version": "0.6.0"}, indent=2))
    (folder / "feature_extractor").mkdir()
    (folder / "feature_extractor" / "preprocessor_config.json").write_text(json.dumps(SD15_PREPROCESSOR_CONFIG, indent=2))


def _blob_name(data: bytes, large: bool) -> str:
    # The Hub names LFS files by their SHA-256 and regular files by their git blob SHA-1.
    if large:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_for(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


def write_hub_cache(cache: Path, *, repo_id: str = SD15_HUB_ID, commit: str | None = None, ref: str | None = "main",
                    variants: tuple[str, ...] = ("fp32", "fp16"), safety_threshold: float = 1.0) -> Path:
    """Add a snapshot of ``repo_id`` to the cache at ``cache`` (HF_HUB_CACHE) and return the snapshot folder.

    ``ref`` (a branch) is pointed at the commit; None leaves the refs alone (a commit only reachable by its hash).
    """
    commit = commit or commit_for(f"{repo_id}@{variants}@{safety_threshold}")
    repo = Path(cache) / repo_folder_name(repo_id)
    blobs, snapshot = repo / "blobs", repo / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        write_snapshot(Path(tmp), variants=variants, safety_threshold=safety_threshold)
        for path in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
            relative = path.relative_to(tmp)
            data = path.read_bytes()
            blob = blobs / _blob_name(data, path.suffix in (".safetensors", ".bin"))
            if not blob.exists():
                shutil.copyfile(path, blob)
            link = snapshot / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    if ref:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / ref).write_text(commit)  # no newline, as huggingface_hub writes it
    return snapshot
