"""Where a model's files are: a local diffusers folder, or a Hub id resolved through the Hugging Face cache.

A Hub id is resolved to its snapshot folder (``<cache>/models--org--name/snapshots/<commit>``) first: offline
(``HF_HUB_OFFLINE=1``) from the cache alone, otherwise by downloading what the pipeline needs, with the bytes
reported as they arrive. The pipeline is then loaded from that folder, so SD Studio knows the commit it runs
(the fingerprint records it) and which weight variant it picked: the ``fp16`` files when the worker computes
in half precision and the repository has them (half the download), the full-precision ones otherwise.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from generation.inference.config import ConfigurationError

# report(state, **details): "downloading" with done/total bytes; the worker shows it on the pages.
Report = Callable[..., None]

HALF_PRECISION = ("float16", "bfloat16")


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    commit: str  # the resolved commit hash ("" for a local folder)
    variant: str | None  # "fp16" when the fp16 files are loaded
    components: dict  # model_index.json: component -> [library, class] (null for an absent one)

    @property
    def has_safety_checker(self) -> bool:
        return bool((self.components.get("safety_checker") or [None])[0])


def read_index(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / "model_index.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{folder} is not a diffusers pipeline (model_index.json: {exc}).") from exc


def _weight_files(folder: Path) -> list[str]:
    return [p.name for p in (Path(folder) / "unet").glob("*") if p.suffix in (".safetensors", ".bin")]


def choose_variant(names: list[str], dtype_name: str) -> str | None:
    """ "fp16" for a half-precision worker when the UNet has fp16 files, or when it has nothing else (upcast)."""
    has_fp16 = any(".fp16." in name for name in names)
    has_full = any(".fp16." not in name for name in names)
    if has_fp16 and (dtype_name in HALF_PRECISION or not has_full):
        return "fp16"
    return None


def locate(location: str, *, revision: str | None, dtype_name: str, report: Report | None = None,
           skip: tuple[str, ...] = ()) -> ModelFiles:
    """The files to load for SDSTUDIO_MODEL (a folder or a Hub id) at SDSTUDIO_MODEL_REVISION.

    ``skip``: components not to download (the safety checker when it is off).
    """
    folder = Path(location).expanduser()
    if folder.is_dir():
        index = read_index(folder)
        return ModelFiles(folder, "", choose_variant(_weight_files(folder), dtype_name), index)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        cached = Path(snapshot_download(location, revision=revision or None, local_files_only=True))
    except LocalEntryNotFoundError:
        cached = None
    if cached is not None and (cached / "model_index.json").exists() and (constants.HF_HUB_OFFLINE or _weight_files(cached)):
        return ModelFiles(cached, cached.name, choose_variant(_weight_files(cached), dtype_name), read_index(cached))
    if constants.HF_HUB_OFFLINE:
        raise ConfigurationError(
            f"{location!r}{' at ' + revision if revision else ''} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            "and HF_HUB_OFFLINE=1 forbids downloading it. Download it once (unset HF_HUB_OFFLINE), or point "
            "SDSTUDIO_MODEL at a diffusers folder."
        )
    return download(location, revision=revision, dtype_name=dtype_name, report=report, skip=skip)


def download(location: str, *, revision: str | None, dtype_name: str, report: Report | None = None,
             skip: tuple[str, ...] = ()) -> ModelFiles:
    """Download what the pipeline needs (diffusers' own file selection), reporting bytes as they land in the cache."""
    from diffusers import DiffusionPipeline
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    try:
        info = HfApi().model_info(location, revision=revision or None, files_metadata=True)
    except (HfHubHTTPError, OSError) as exc:
        raise ConfigurationError(f"Could not reach the model {location!r} on the Hugging Face Hub: {exc}") from exc
    siblings = {s.rfilename: s.size or 0 for s in info.siblings or [] if s.rfilename.split("/")[0] not in skip}
    variant = choose_variant([Path(name).name for name in siblings if name.startswith("unet/")], dtype_name)
    total = expected_bytes(siblings, variant)
    blobs = Path(constants.HF_HUB_CACHE) / ("models--" + location.replace("/", "--")) / "blobs"
    watcher = _Watcher(blobs, total, report)
    watcher.start()
    try:
        # A component passed as None is not downloaded (diffusers' own rule).
        folder = Path(DiffusionPipeline.download(location, revision=info.sha, variant=variant, **dict.fromkeys(skip)))
    except (HfHubHTTPError, OSError) as exc:
        raise ConfigurationError(f"Downloading {location!r} failed: {exc}") from exc
    finally:
        watcher.stop()
    return ModelFiles(folder, folder.name, variant, read_index(folder))


def expected_bytes(siblings: dict[str, int], variant: str | None) -> int:
    """About what diffusers downloads: configs, and each component's safetensors weights of the variant."""
    total = 0
    for name, size in siblings.items():
        if "/" not in name:
            total += size if name == "model_index.json" else 0
        elif name.endswith((".json", ".txt")):
            total += size
        elif name.endswith(".safetensors") and (".fp16." in name) == (variant == "fp16"):
            total += size
    return total


class _Watcher(threading.Thread):
    """Reports the bytes in the repository's blobs folder (finished and .incomplete files) twice a second."""

    def __init__(self, blobs: Path, total: int, report: Report | None):
        super().__init__(daemon=True, name="sdstudio-download-watcher")
        self.blobs, self.total, self.report = blobs, total, report
        self.before = self._size()
        self._stop_event = threading.Event()

    def _size(self) -> int:
        try:
            return sum(p.stat().st_size for p in self.blobs.iterdir() if p.is_file())
        except OSError:
            return 0

    def run(self) -> None:
        while self.report is not None and not self._stop_event.wait(0.5):
            self.report("downloading", done=max(0, self._size() - self.before), total=self.total)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)
        if self.report is not None:
            self.report("downloading", done=max(0, self._size() - self.before), total=self.total)
