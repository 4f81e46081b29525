"""The worker for shop work (imports that fetch images): light, no model, so it never holds up the GPU worker."""
from __future__ import annotations

from rq.serializers import JSONSerializer

from sdstudio.rqworkers import RedisTolerantWorker

SHOP_QUEUE = "shop"  # imports that fetch images, and the learned segmenter's masks


class ShopWorker(RedisTolerantWorker):
    """`manage.py rqworker shop --worker-class catalog.worker.ShopWorker`: JSON payloads like the generation queue."""

    def __init__(self, *args, **kwargs):
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)
