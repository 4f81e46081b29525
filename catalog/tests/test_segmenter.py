"""The optional learned segmenter: a toy ONNX model with the real signature, run by a real shop worker process."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.db import transaction
from PIL import Image

from catalog import masks, segmenter
from catalog.models import MaskSource, ProductPhoto
from conftest import png_bytes, run_shop_worker_burst

SIDE = 64
# What the toy model answers for any photo: this rectangle of its input (x0, y0, x1, y1) is the product.
RECTANGLE = (16, 20, 44, 56)


def toy_model(path) -> str:
    """An ONNX segmenter with ISNet's signature (1x3xSxS in, 1x1xSxS out) that finds RECTANGLE whatever the photo."""
    from onnx import TensorProto, helper, numpy_helper, save

    pattern = np.zeros((1, 1, SIDE, SIDE), np.float32)
    x0, y0, x1, y1 = RECTANGLE
    pattern[..., y0:y1, x0:x1] = 4.0
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"]),  # the photo is read, and then ignored
             helper.make_node("Add", ["nothing", "pattern"], ["mask"])]
    graph = helper.make_graph(nodes, "toy-segmenter",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
                              [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, SIDE, SIDE])],
                              [numpy_helper.from_array(np.zeros((1,), np.float32), "zero"), numpy_helper.from_array(pattern, "pattern")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    save(model, str(path))
    return str(path)


def expected_mask(size: tuple[int, int]) -> Image.Image:
    x0, y0, x1, y1 = RECTANGLE
    truth = Image.new("L", (SIDE, SIDE), 0)
    truth.paste(255, (x0, y0, x1, y1))
    return masks.binarize(truth.resize(size, Image.Resampling.BILINEAR))


def test_the_segmenter_reads_a_model_of_the_signature_and_scales_its_map_to_the_photo(tmp_path, settings):
    settings.SDSTUDIO_SEGMENTER = toy_model(tmp_path / "toy.onnx")
    found = segmenter.Segmenter(settings.SDSTUDIO_SEGMENTER).predict(Image.new("RGB", (300, 200), (200, 40, 40)))
    assert found.size == (300, 200) and found.mode == "L"
    assert masks.iou(masks.binarize(found), expected_mask((300, 200))) > 0.97
    with pytest.raises(FileNotFoundError, match="neither a known segmenter .*isnet-general-use.* nor an .onnx file"):
        segmenter.weights_path(str(tmp_path / "missing.onnx"))


@pytest.mark.django_db(transaction=True)
def test_a_shop_worker_replaces_the_built_in_mask_with_the_learned_one_and_leaves_a_drawn_mask(tmp_path, settings, client, product,
                                                                                              merchandiser, redis_conn):
    from catalog.services import photo_add, photo_set_mask
    from generation import services as generation

    model = toy_model(tmp_path / "toy.onnx")
    settings.SDSTUDIO_SEGMENTER = model
    with transaction.atomic():
        photo, _ = photo_add(product=product, data=png_bytes((240, 180), (90, 120, 200)), name="flat.png", user=merchandiser)
        drawn, _ = photo_add(product=product, data=png_bytes((240, 180), (200, 120, 90)), name="other.png", user=merchandiser)
    assert {photo.mask_source, drawn.mask_source} <= {MaskSource.AUTOMATIC, ""}  # the built-in method's answer, for now
    assert len(redis_conn.keys("rq:job:sdstudio-segment-photo-*")) == 2
    # a person draws on the second photo before the worker gets to it
    buffer = io.BytesIO()
    hand = Image.new("L", (240, 180), 0)
    hand.paste(255, (10, 10, 100, 100))
    hand.save(buffer, format="PNG")
    photo_set_mask(photo=drawn, data=buffer.getvalue(), user=merchandiser)
    client.force_login(merchandiser)
    page = client.get(photo.get_absolute_url()).content.decode()
    assert 'id="mask-segmenter"' in page and "toy.onnx" in page
    import json

    redis_conn.set(segmenter.STATE_KEY, json.dumps({"model": model, "state": "downloading", "done": 12 * 2**20, "total": 170 * 2**20}))
    assert "downloading its weights: 12.0\xa0MB of 170.0\xa0MB" in client.get(photo.get_absolute_url()).content.decode()
    # the shop worker (a real process) runs the model
    output = run_shop_worker_burst(SDSTUDIO_SEGMENTER=model)
    assert "run_photo_segmentation" in output
    photo.refresh_from_db()
    assert photo.mask_source == MaskSource.LEARNED and photo.mask_confidence is not None
    mask = Image.open(photo.mask)
    assert masks.iou(mask, expected_mask((240, 180))) > 0.97
    matte = np.asarray(Image.open(photo.matte).convert("L"))
    assert matte.shape == (180, 240) and matte.max() == 255 and matte.min() == 0  # its soft map, kept as the photo's matte
    drawn.refresh_from_db()
    assert drawn.mask_source == MaskSource.DRAWN  # a person's mask stays
    assert masks.iou(Image.open(drawn.mask), hand) == 1.0
    page = client.get(photo.get_absolute_url()).content.decode()
    assert "found by the learned segmenter" in page and 'id="mask-segmenter"' not in page
    # a scene made from the photo keeps the learned mask (its frozen copy)
    with transaction.atomic():
        job = generation.job_create(mode="scene", prompt="on a wooden table", seed=1, width=64, height=64, num_inference_steps=2,
                                    product=product, source_photo=ProductPhoto.objects.get(pk=photo.pk), user=merchandiser)
    frozen = Image.open(job.mask).convert("L").resize((240, 180), Image.Resampling.NEAREST)
    assert masks.iou(frozen, expected_mask((240, 180))) > 0.95


class SlowFileServer:
    """A real local HTTP server that sends one file in small pieces, slowly, with its Content-Length."""

    def __init__(self, data: bytes, *, pieces: int = 8, pause: float = 0.2):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                import time

                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                step = -(-len(data) // pieces)
                for start in range(0, len(data), step):
                    self.wfile.write(data[start:start + step])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/isnet-general-use.onnx"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class Recorder:
    """Stands for the shop queue's Redis where the segmenter writes its state (only ``set`` is called)."""

    def __init__(self):
        self.states = []

    def set(self, key, value, ex=None):
        import json

        self.states.append(json.loads(value))


def test_a_known_segmenter_is_fetched_once_into_the_cache_with_its_progress(tmp_path, settings):
    with open(toy_model(tmp_path / "toy.onnx"), "rb") as handle:
        data = handle.read()
    server = SlowFileServer(data)
    settings.SDSTUDIO_MODEL_CACHE = tmp_path / "cache"
    settings.SDSTUDIO_SEGMENTER_URL = server.url
    try:
        recorder = Recorder()
        path = segmenter.weights_path("isnet-general-use", connection=recorder)
    finally:
        server.close()
    assert path == tmp_path / "cache" / "segmenters" / "isnet-general-use.onnx" and path.read_bytes() == data
    downloading = [s for s in recorder.states if s["state"] == "downloading"]
    assert downloading and downloading[-1] == {"model": "isnet-general-use", "state": "downloading", "done": len(data), "total": len(data)}
    assert any(0 < s["done"] < len(data) for s in downloading), downloading  # progress while it came in
    assert not list((tmp_path / "cache" / "segmenters").glob("*.part"))
    # the second time it is read from the cache: no server needed
    assert segmenter.weights_path("isnet-general-use", connection=Recorder()) == path
