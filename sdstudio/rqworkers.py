"""What SD Studio's RQ workers share: they outlive a Redis restart or FLUSHALL instead of exiting."""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from rq.worker import SimpleWorker

logger = logging.getLogger(__name__)


class RedisTolerantWorker(SimpleWorker):
    """A non-forking worker whose loop starts again once Redis answers, after rq's loop ended on an error.

    rq's loop ends on request, in burst mode when the queue is empty, at --max-jobs/--max-idle-time, or on
    any error, a Redis restart or FLUSHALL included ("found an unhandled exception, quitting"). Under a
    process manager one exiting process stops them all (honcho), and a generation worker would reload its
    model; so the worker waits for Redis and serves again. Five such ends within a minute are a real fault:
    it exits then.
    """

    MAX_RESTARTS_PER_MINUTE = 5

    def __init__(self, *args, **kwargs):
        from sdstudio.localredis import require_sdstudio_redis

        require_sdstudio_redis()  # never serve the default port's Redis by accident: it may be someone else's
        super().__init__(*args, **kwargs)

    @property
    def stopping(self) -> bool:
        """A stop was asked for (SIGTERM/SIGINT; rq raises StopRequested without a flag when idle)."""
        return self._stop_requested or self._shutdown_requested_date is not None

    def work(self, burst: bool = False, *args, **kwargs):
        restarts: list[float] = []
        while True:
            try:
                worked = super().work(burst, *args, **kwargs)
            except RedisError:  # raised again by rq's teardown while Redis is still away
                worked = False
            limited = kwargs.get("max_jobs") is not None or kwargs.get("max_idle_time") is not None
            restarts = [t for t in restarts if time.monotonic() - t < 60] + [time.monotonic()]
            if burst or limited or self.stopping or len(restarts) > self.MAX_RESTARTS_PER_MINUTE or not self._wait_for_redis():
                return worked

    def _wait_for_redis(self) -> bool:
        """True once Redis answers (the loop starts again), False when a stop comes first."""
        delay = 0.5
        while not self.stopping:
            try:
                self.connection.ping()
            except RedisError as exc:
                logger.warning("Worker %s: Redis unreachable (%s); retrying in %.1f s", self.name, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            logger.warning("Worker %s: Redis answers; serving again after the error above", self.name)
            return True
        return False
