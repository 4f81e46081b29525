"""An optional learned segmenter (ISNet, BiRefNet, U2-Net as ONNX files) for users who can download its weights.

SDSTUDIO_SEGMENTER names one of MODELS (its weights are fetched on first use into SDSTUDIO_MODEL_CACHE/segmenters,
with progress the photo page shows) or a path to an .onnx file with the same signature: one image in
(1 x 3 x S x S, ImageNet-normalised RGB), one map out (1 x 1 x S x S, higher = product). These are the files rembg
publishes; SD Studio runs them with onnxruntime directly rather than through rembg, whose pins (numba through
pymatting, its own OpenCV wheel) would fight the project's. Blank (the default): the built-in method of
catalog.masks. The segmenter runs on the shop worker (catalog.tasks.run_photo_segmentation), never in the web
process; the worker keeps its session loaded between photos.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from catalog.worker import SHOP_QUEUE

logger = logging.getLogger(__name__)

RELEASES = "https://github.com/danielgatis/rembg/releases/download/v0.0.0"


@dataclass(frozen=True)
class KnownModel:
    url: str
    size: int  # the square input side the model was trained at
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    logits: bool = False  # the map is logits (BiRefNet): a sigmoid first


MODELS = {
    "isnet-general-use": KnownModel(f"{RELEASES}/isnet-general-use.onnx", 1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)),
    "birefnet-general": KnownModel(f"{RELEASES}/BiRefNet-general-epoch_244.onnx", 1024, logits=True),
    "birefnet-general-lite": KnownModel(f"{RELEASES}/BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx", 1024, logits=True),
    "u2net": KnownModel(f"{RELEASES}/u2net.onnx", 320),
}
STATE_KEY = "sdstudio:segmenter:state"  # what the shop worker is doing with the segmenter (downloading, loading, ready)
STATE_TTL = 3600


def configured() -> str:
    from django.conf import settings

    return settings.SDSTUDIO_SEGMENTER


def label(name: str | None = None) -> str:
    """How pages name the configured segmenter: its known name, or the file's name."""
    name = configured() if name is None else name
    return name if name in MODELS else Path(name).name


def _state(connection, **state) -> None:
    from redis.exceptions import RedisError

    if connection is None:
        return
    try:
        connection.set(STATE_KEY, json.dumps(state), ex=STATE_TTL)
    except RedisError:
        pass


def state() -> dict | None:
    """The shop worker's last word on the segmenter ({"model", "state", "done", "total"}), or None."""
    import django_rq
    from redis.exceptions import RedisError

    try:
        raw = django_rq.get_connection(SHOP_QUEUE).get(STATE_KEY)
    except RedisError:
        return None
    return json.loads(raw) if raw else None


def weights_path(name: str, *, connection=None) -> Path:
    """The .onnx file of ``name``: the path itself, or the known model's file, fetched once into the cache with
    progress written for the pages (``connection``: the shop queue's Redis)."""
    if name not in MODELS:
        path = Path(name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"SDSTUDIO_SEGMENTER: {name} is neither a known segmenter ({', '.join(MODELS)}) nor an .onnx file.")
        return path
    from django.conf import settings

    target = Path(settings.SDSTUDIO_MODEL_CACHE) / "segmenters" / f"{name}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    import urllib.request

    url = settings.SDSTUDIO_SEGMENTER_URL or MODELS[name].url
    logger.info("Downloading the %s segmenter from %s", name, url)
    with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:  # noqa: S310 (rembg's release, or the operator's mirror)
        total, done, last = int(response.headers.get("Content-Length") or 0), 0, 0.0
        digest = hashlib.sha256()
        while chunk := response.read1(1 << 20):  # what has arrived, up to 1 MB: progress as it comes
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if time.monotonic() - last > 0.5:
                _state(connection, model=name, state="downloading", done=done, total=total)
                last = time.monotonic()
    _state(connection, model=name, state="downloading", done=done, total=total or done)
    partial.rename(target)
    logger.info("Segmenter %s downloaded (%d bytes, sha256 %s)", name, done, digest.hexdigest())
    return target


class Segmenter:
    """One ONNX segmenter loaded for the process's lifetime."""

    def __init__(self, name: str, *, connection=None):
        import onnxruntime

        known = MODELS.get(name)
        path = weights_path(name, connection=connection)
        _state(connection, model=name, state="loading")
        options = onnxruntime.SessionOptions()
        from django.conf import settings

        options.intra_op_num_threads = settings.SDSTUDIO_TORCH_THREADS or 0
        self.session = onnxruntime.InferenceSession(str(path), options, providers=onnxruntime.get_available_providers())
        shape = self.session.get_inputs()[0].shape
        self.size = known.size if known else int(shape[-1]) if isinstance(shape[-1], int) else 1024
        known = known or KnownModel("", self.size)
        self.mean, self.std, self.logits = np.array(known.mean, np.float32), np.array(known.std, np.float32), known.logits
        _state(connection, model=name, state="ready")

    def predict(self, image: Image.Image) -> Image.Image:
        """The product map at the photo's size (L, 0-255), min-max scaled as rembg does."""
        rgb = image.convert("RGB")
        pixels = np.asarray(rgb.resize((self.size, self.size), Image.Resampling.LANCZOS), np.float32) / 255.0
        pixels = ((pixels / max(float(pixels.max()), 1e-6)) - self.mean) / self.std
        feed = {self.session.get_inputs()[0].name: pixels.transpose(2, 0, 1)[None].astype(np.float32)}
        out = np.asarray(self.session.run(None, feed)[0], np.float32).reshape(-1, self.size, self.size)[0]
        if self.logits:
            out = 1.0 / (1.0 + np.exp(-out))
        low, high = float(out.min()), float(out.max())
        scaled = (out - low) / (high - low) if high > low else np.zeros_like(out)
        return Image.fromarray((scaled * 255).round().astype(np.uint8), "L").resize(rgb.size, Image.Resampling.BILINEAR)


_loaded: dict[str, Segmenter] = {}


def get(name: str | None = None, *, connection=None) -> Segmenter:
    """The process's segmenter for ``name`` (default: SDSTUDIO_SEGMENTER), loaded once."""
    name = name or configured()
    if name not in _loaded:
        _loaded[name] = Segmenter(name, connection=connection)
    return _loaded[name]
