"""`wxbot worker`: runs notification jobs (RQ, with its scheduler for delayed retries) and the
dispatcher that turns recorded decisions into jobs. Run any number, on any machines."""

from __future__ import annotations

import threading

import redis
from rq import Queue, Worker

from bot.config import Settings
from bot.logs import configure_for, log
from bot.notify import runtime
from bot.notify.dispatch import Dispatcher
from bot.store.client import connect


def start_dispatcher(client: redis.Redis, settings: Settings, stop: threading.Event) -> threading.Thread:
    dispatcher = Dispatcher(client, settings)

    def loop() -> None:
        while not stop.is_set():
            try:
                dispatcher.run_once(block_ms=1000)
            except redis.RedisError:
                log.warning("dispatcher_redis_unavailable")
                stop.wait(1.0)
            except Exception:  # noqa: BLE001 - keep dispatching after a bad round
                log.exception("dispatcher_failed")
                stop.wait(1.0)

    thread = threading.Thread(target=loop, daemon=True, name="wxbot-dispatcher")
    thread.start()
    return thread


# RQ's maintenance round restarts a scheduler that died (its process exits on the first Redis error,
# so a Redis outage of a few seconds kills it), takes over the lock of one that was killed, and
# retries the job of a worker that was killed. By default it runs every 10 minutes, and an idle
# worker wakes only every 405 s: delayed retries (every failed send) stalled that long after a
# Redis outage. Every 10 s instead; an idle worker then asks Redis for work every 10 s.
MAINTENANCE_INTERVAL = 10
WORKER_TTL = MAINTENANCE_INTERVAL + 15   # RQ waits on the queue for worker_ttl - 15 s at a time


def run_worker(settings: Settings, burst: bool = False, metrics_bind: str | None = None) -> None:
    configure_for(settings)
    if metrics_bind:
        from bot import metrics
        metrics.serve_for_jobs(metrics_bind)
    runtime.use(runtime.build(settings))
    queue_client = connect(settings.redis, blocking=True)  # waits on the queue: no read timeout
    stop = threading.Event()
    if not burst:
        start_dispatcher(queue_client, settings, stop)
    else:
        Dispatcher(queue_client, settings).run_once()
    try:
        Worker([Queue(settings.notifications.queue, connection=queue_client)], connection=queue_client,
               maintenance_interval=MAINTENANCE_INTERVAL, worker_ttl=WORKER_TTL).work(
            with_scheduler=True, burst=burst, logging_level="WARNING")
    finally:
        stop.set()
