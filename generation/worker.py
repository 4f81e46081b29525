"""The RQ worker that owns the GPU: loads the pipeline once, never forks, runs jobs one after another."""
from __future__ import annotations

import logging
import time

from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker

logger = logging.getLogger(__name__)


class GenerationWorker(SimpleWorker):
    """A non-forking worker (CUDA does not survive fork) with the JSON serializer and a warm pipeline.

    `manage.py rqworker` ignores the queue's SERIALIZER setting and passes its
    own (pickle by default), so the serializer is fixed here. Between jobs its
    maintenance pass also reconciles the database with Redis.
    """

    def __init__(self, queues, *args, **kwargs):
        from django.conf import settings

        kwargs["serializer"] = JSONSerializer
        kwargs.setdefault("maintenance_interval", settings.SDSTUDIO_RECONCILE_INTERVAL)
        super().__init__(self.model_queues(queues), *args, **kwargs)

    @staticmethod
    def model_queues(queues):
        """`rqworker generation` serves the generation queue of the model this worker loads (SDSTUDIO_MODEL).

        Its queue is registered with the model it carries, so pages can say which models have a worker.
        """
        from generation import modelinfo, services

        model_id = modelinfo.requested_model_id()
        routed = []
        for queue in queues if isinstance(queues, (list, tuple)) else [queues]:
            name = getattr(queue, "name", queue)
            if name == services.QUEUE_NAME and model_id:
                queue = services.queue_name(model_id)  # a name: rq makes it a queue of its own class and connection
                services.get_queue().connection.hset(services.MODELS_KEY, queue, model_id)
            routed.append(queue)
        return routed

    @property
    def dequeue_timeout(self) -> int:
        # rq waits for a job up to worker_ttl - 15 (405 s) and runs maintenance only between waits: an idle
        # worker would reconcile every 7 minutes. Waking at the maintenance interval keeps the promise.
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def work(self, *args, **kwargs):
        from django.conf import settings

        from generation import execution

        self.warm_up()
        # Outputs are encoded and stored on a thread while the next job runs; drained before the worker exits.
        execution.start_postprocessor(settings.SDSTUDIO_POSTPROCESS_QUEUE)
        try:
            return super().work(*args, **kwargs)
        finally:
            execution.stop_postprocessor()

    def warm_up(self) -> None:
        from django.conf import settings

        from generation.inference import pipelines, runner

        started = time.perf_counter()
        loaded = pipelines.get_pipelines()
        shapes = pipelines.parse_shapes(settings.SDSTUDIO_WARMUP_SHAPES)
        warm = runner.warm_up(loaded, shapes) if shapes else 0.0
        logger.info(
            "Worker %s ready: %s on %s (%s), loaded in %.2f s, warm-up %.2f s (start-up %.2f s)",
            self.name, loaded.model_label, loaded.device, loaded.dtype, loaded.load_seconds, warm, time.perf_counter() - started,
        )

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        from django.db import close_old_connections

        from generation import services

        close_old_connections()
        try:
            services.jobs_reconcile()
        except Exception:  # Maintenance must never kill the worker.
            logger.exception("Reconcile pass failed")
        finally:
            close_old_connections()
