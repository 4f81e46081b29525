"""The RQ worker that owns the GPU: loads the pipeline once, never forks, runs jobs one after another."""
from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError
from rq.serializers import JSONSerializer

from sdstudio.rqworkers import RedisTolerantWorker

logger = logging.getLogger(__name__)


class GenerationWorker(RedisTolerantWorker):
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
        """`rqworker generation` serves the generation queue of the model this worker loads (SDSTUDIO_MODEL)."""
        from generation import modelinfo, services

        model_id = modelinfo.requested_model_id()
        routed = []
        for queue in queues if isinstance(queues, (list, tuple)) else [queues]:
            name = getattr(queue, "name", queue)
            if name == services.QUEUE_NAME:
                if model_id:
                    queue = services.queue_name(model_id)  # a name: rq makes it a queue of its own class and connection
                # people's queue first, always; campaigns' only when it is empty (generation.campaigns)
                routed += [queue, services.campaign_queue_name(model_id)]
                continue
            routed.append(queue)
        return routed

    def register_birth(self):
        """rq's registration, plus each served queue's model in SD Studio's registry (again after a Redis reset)."""
        super().register_birth()
        self.register_queue_models()

    def register_queue_models(self) -> None:
        """Each served queue -> the model this worker loads, in SD Studio's registry (the default queue needs none)."""
        from generation import modelinfo, services

        model_id = modelinfo.requested_model_id()
        for name in self.queue_names() if model_id else []:
            if not name.endswith(services.CAMPAIGN_SUFFIX):
                self.connection.hset(services.MODELS_KEY, name, model_id)

    @property
    def dequeue_timeout(self) -> int:
        # rq waits for a job up to worker_ttl - 15 (405 s) and runs maintenance only between waits: an idle
        # worker would reconcile every 7 minutes. Waking at the maintenance interval keeps the promise.
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def work(self, burst: bool = False, *args, **kwargs):
        from django.conf import settings

        from generation import execution, modelinfo

        keep_database_connections(settings.SDSTUDIO_WORKER_CONN_MAX_AGE)
        try:  # the queue's model is known while the worker starts, so the job form can offer it already
            self.register_queue_models()
        except RedisError:
            pass
        reporter = LoadReporter(self.connection, self.queue_names(), self.name,
                                modelinfo.requested_model_id() or modelinfo.model_label())
        try:
            self.warm_up(reporter)
        finally:
            reporter.close()  # from here on the worker is registered and counted as online
        # Outputs are encoded and stored on a thread while the next job runs; drained before the worker exits.
        execution.start_postprocessor(settings.SDSTUDIO_POSTPROCESS_QUEUE,
                                      jobs_waiting=lambda: any(queue.count for queue in self.queues))
        try:
            return super().work(burst, *args, **kwargs)
        finally:
            execution.stop_postprocessor()

    def warm_up(self, report=None) -> None:
        from generation import modelinfo
        from generation.inference import pipelines, runner

        started = time.perf_counter()
        config = modelinfo.inference_config()  # the worker's settings, read once, as the inference package's config
        loaded = pipelines.get_pipelines(config, report=report)
        shapes = config.warmup_shapes
        if shapes and report is not None:
            report("warming")
        warm = runner.warm_up(loaded, shapes) if shapes else 0.0
        logger.info(
            "Worker %s ready: %s on %s (%s), loaded in %.2f s, warm-up %.2f s (start-up %.2f s)",
            self.name, loaded.model_label, loaded.device, loaded.dtype, loaded.load_seconds, warm, time.perf_counter() - started,
        )

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        from django.db import close_old_connections

        from generation import campaigns, services

        close_old_connections()
        try:
            services.jobs_reconcile()
            campaigns.feed_all()
        except Exception:  # Maintenance must never kill the worker.
            logger.exception("Reconcile pass failed")
        finally:
            close_old_connections()


def keep_database_connections(max_age: int) -> None:
    """This process's database connections live across jobs, checked before each reuse.

    A worker runs jobs back to back: a connection opened per job (CONN_MAX_AGE 0) costs
    the gap between two pipeline calls a connect, and a fresh connection's empty page cache, every time.
    Django's close_old_connections() between jobs still closes one that broke or outlived ``max_age``.
    """
    from django.db import connections

    if max_age <= 0:
        return
    for alias in connections:
        connections.settings[alias].update(CONN_MAX_AGE=max_age, CONN_HEALTH_CHECKS=True)
        connections[alias].close()  # an open one was made with the old age: the next query reconnects


class LoadReporter:
    """What a starting worker is doing, in Redis for the pages, until it takes jobs.

    ``reporter(state, **details)``: "starting", "downloading" (done/total bytes), "loading", "warming". The
    state is written again every few seconds with a short expiry, so a worker that dies while loading
    disappears from the pages; ``close()`` removes it once the worker is registered and serving.
    """

    TTL = 30
    REFRESH = 5.0

    def __init__(self, connection, queues: list[str], worker: str, model: str):
        self.connection, self.queues, self.worker = connection, list(queues), worker
        self.state = {"state": "starting", "model": model, "since": time.time()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._write()
        self._thread = threading.Thread(target=self._refresh, daemon=True, name="sdstudio-load-reporter")
        self._thread.start()

    def __call__(self, state: str, **details) -> None:
        with self._lock:
            since = self.state["since"] if state == self.state["state"] else time.time()
            self.state = {"state": state, "model": self.state["model"], "since": since, **details}
        self._write()
        if state != "downloading":
            logger.info("Worker %s: %s %s", self.worker, state, self.state["model"])

    def _write(self) -> None:
        from generation import services

        with self._lock:
            state = dict(self.state)
        try:
            for queue in self.queues:
                services.worker_loading_set(self.connection, queue=queue, worker=self.worker, state=state, ttl=self.TTL)
        except RedisError as exc:  # the pages lose a detail, the worker loads on
            logger.warning("Could not report the worker's state: %s", exc)

    def _refresh(self) -> None:
        while not self._stop.wait(self.REFRESH):
            self._write()

    def close(self) -> None:
        from generation import services

        self._stop.set()
        self._thread.join(timeout=2)
        try:
            for queue in self.queues:
                services.worker_loading_clear(self.connection, queue=queue, worker=self.worker)
        except RedisError:
            pass
