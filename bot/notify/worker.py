"""`wxbot worker`: reads the decisions stream through the consumer group `notify` and sends each
notification on one of `notifications.senders_per_worker` threads (WeChat answers in 50–200 ms:
threads, not processes, keep many sends in flight). Run any number, on any machines.

One loop per process: it beats the heartbeat, acknowledges what the senders settled, takes over
entries a dead worker held (XAUTOCLAIM after `notifications.reclaim_after`), takes the retries
that are due, and reads new entries — never more than the senders can start soon, so that an
entry does not wait here long enough to look abandoned. Now and then it trims the stream of what
every consumer group has acknowledged (NotificationQueue.trim).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from bot.config import Settings
from bot.logs import configure_for, log
from bot.notify import runtime
from bot.notify.queue import NotificationQueue, notification_id, worker_name
from bot.notify.send import Sender
from bot.store.client import connect

BATCH = 64            # entries read at once, at most; and at most this many taken and not yet settled
BEAT_EVERY = 5        # seconds between heartbeats
WORKER_TTL = 25       # a worker whose last heartbeat is older is taken for gone (`wxbot probe worker`)
BEATS_KEPT = 24 * 3600
RECLAIM_EVERY = 5     # seconds between looks for entries held by a dead worker
TIDY_EVERY = 3600     # seconds between removals of long-idle consumers from the group
TRIM_EVERY = 30       # seconds between trims of the decisions stream
BLOCK_MS = 1000       # the longest wait on the stream: the loop's other duties come round at least this often


@dataclass(frozen=True)
class Work:
    notification_id: str
    entry_id: str = ""             # a stream entry's; '' for a retry
    openid: str = ""
    decision: str = ""
    party: str = ""                # the member's side of the decision ("member"), or the initiator's ('')


class Worker:
    def __init__(self, settings: Settings, rt: runtime.Runtime | None = None, name: str | None = None) -> None:
        """`name`: this worker as a consumer and in the heartbeats (default `<host>:<pid>`)."""
        senders = settings.notifications.senders_per_worker
        self.settings = settings
        self.rt = rt or runtime.build(settings, connections=senders)
        self.name = name or worker_name()
        # The stream is waited on by a client without a read timeout; everything else has short ones.
        self.queue = NotificationQueue(self.rt.redis, settings, consumer=self.name,
                                       reader=connect(settings.redis, blocking=True))
        self.sender = Sender(settings, self.queue, self.rt.records, self.rt.wechat, self.rt.binding)
        self.senders = senders
        self.capacity = max(BATCH, senders)
        self.refill = max(1, min(senders, self.capacity // 4))   # room for this many before taking more
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="wxbot-sender")
        self._in_flight: dict[Future, Work] = {}
        self._settled: deque[str] = deque()       # stream entries to acknowledge
        self._finished = threading.Event()        # a sender finished: room for more
        self._next = {"beat": 0.0, "reclaim": 0.0, "tidy": 0.0, "ack": 0.0, "trim": 0.0}

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, burst: bool = False) -> None:
        """Until `stop` is set; `burst`: until nothing waits now (retries due later stay scheduled)."""
        log.info("worker_started", worker=self.name, senders=self.senders)
        try:
            while not self.stop.is_set():
                try:
                    idle = self._round(burst)
                except redis.RedisError as exc:
                    log.warning("worker_redis_unavailable", error=type(exc).__name__)
                    self.stop.wait(1.0)
                    continue
                except Exception:  # noqa: BLE001 - a bug in one turn must not stop the sending
                    log.exception("worker_round_failed")
                    self.stop.wait(1.0)
                    continue
                if burst and idle and not self._in_flight:
                    break
        finally:
            self._shut_down()

    def _round(self, burst: bool) -> bool:
        """One turn of the loop; True when it found nothing to do."""
        self._finished.clear()
        now = time.time()
        if now >= self._next["beat"]:
            self._beat(now)
        self._prune()
        if not burst and self._in_flight and self._room() < self.refill and now < self._next["ack"]:
            # Enough taken to keep the senders busy: wait for room, then acknowledge and refill in
            # one batch each rather than a few Redis calls for every send that finishes.
            self._finished.wait(BLOCK_MS / 1000)
            return False
        self._ack()
        self._next["ack"] = now + BLOCK_MS / 1000
        if now >= self._next["tidy"]:
            self.queue.forget_idle_consumers()
            self._next["tidy"] = now + TIDY_EVERY
        if now >= self._next["trim"]:
            self.queue.trim()
            self._next["trim"] = now + TRIM_EVERY
        work: list[Work] = []
        if self._room() and (burst or now >= self._next["reclaim"]):
            work += self._reclaimed(self._room())
            self._next["reclaim"] = now + RECLAIM_EVERY
        if self._room() > len(work):
            work += [Work(item) for item in self.queue.due(self._room() - len(work))]
        if self._room() > len(work):
            work += self._read(self._room() - len(work), block=not (burst or work))
        for item in work:
            self._start(item)
        if not work and (self._room() == 0 or (burst and self._in_flight)):
            self._finished.wait(BLOCK_MS / 1000)   # full, or draining: wait for a sender to finish
        return not work

    def _room(self) -> int:
        return self.capacity - len(self._in_flight)

    def _read(self, count: int, block: bool) -> list[Work]:
        wait = None
        if block:
            # Not past the next due retry, nor the next heartbeat.
            due = self.queue.next_due()
            until = min(self._next["beat"], due if due is not None else float("inf"))
            wait = int(max(1, min(BLOCK_MS, (until - time.time()) * 1000)))
            if self._in_flight:
                wait = min(wait, 100)   # senders at work: acknowledge what they settle soon
        return [self._work(entry_id, fields) for entry_id, fields in self.queue.read(count, wait)]

    def _reclaimed(self, count: int) -> list[Work]:
        taken = self.queue.reclaim(count)
        if taken:
            log.info("notifications_reclaimed", count=len(taken))
        work = []
        for entry_id, fields in taken:
            if fields is None:
                self._settled.append(entry_id)    # deleted from the stream meanwhile: nothing to send
            else:
                work.append(self._work(entry_id, fields))
        return work

    @staticmethod
    def _work(entry_id: str, fields: dict[bytes, bytes]) -> Work:
        return Work(notification_id(entry_id), entry_id, fields.get(b"openid", b"").decode(),
                    fields.get(b"decision", b"").decode(), fields.get(b"party", b"").decode())

    def _start(self, item: Work) -> None:
        if item.entry_id and not item.openid:
            log.warning("decision_without_owner", entry_id=item.entry_id)  # not submitted through this bot
            self._settled.append(item.entry_id)
            return
        future = self._pool.submit(self._attempt, item)
        self._in_flight[future] = item
        future.add_done_callback(lambda done, item=item: self._done(done, item))

    def _attempt(self, item: Work) -> bool:
        try:
            return self.sender.attempt(item.notification_id, bool(item.entry_id), item.openid, item.decision,
                                       item.party)
        except redis.RedisError as exc:
            # Nothing settled: the entry stays pending (reclaimed after reclaim_after), a retry stays leased.
            log.warning("notification_redis_unavailable", notification_id=item.notification_id,
                        error=type(exc).__name__)
        except Exception:  # noqa: BLE001 - a sender thread must survive anything
            log.exception("notification_error", notification_id=item.notification_id)
        return False

    def _done(self, future: Future, item: Work) -> None:
        """In the sender's thread: its stream entry is acknowledged by the loop's next turn."""
        if item.entry_id and not future.cancelled() and future.result():
            self._settled.append(item.entry_id)
        self._finished.set()

    def _prune(self) -> None:
        for future in [f for f in self._in_flight if f.done()]:
            del self._in_flight[future]

    def _ack(self) -> None:
        self._prune()
        settled = []
        while self._settled:
            settled.append(self._settled.popleft())
        try:
            self.queue.ack(settled)
        except redis.RedisError:
            self._settled.extendleft(settled)
            raise

    # -- the heartbeat (`wxbot probe worker`) ---------------------------------------------------------
    def _beat(self, now: float) -> None:
        key = self.rt.records.keys.notification_workers()
        pipe = self.rt.redis.pipeline(transaction=False)
        pipe.zadd(key, {self.name: now})
        pipe.zremrangebyscore(key, "-inf", now - BEATS_KEPT)
        pipe.expire(key, BEATS_KEPT)
        pipe.execute()
        self._next["beat"] = now + BEAT_EVERY

    # -- stopping --------------------------------------------------------------------------------------
    def _shut_down(self) -> None:
        """The sends under way finish; entries taken but not started are handed back at once."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        unstarted = [item for future, item in self._in_flight.items() if future.cancelled()]
        try:
            self._ack()
            self.queue.give_back([item.entry_id for item in unstarted if item.entry_id])
            self.queue.due_again([item.notification_id for item in unstarted if not item.entry_id])
            self.queue.trim()
            self.rt.redis.zrem(self.rt.records.keys.notification_workers(), self.name)
        except redis.RedisError:
            log.warning("worker_stopped_without_redis")   # what it held is reclaimed after reclaim_after
        log.info("worker_stopped", worker=self.name)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT: stop taking work, finish the sends under way, exit."""
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_worker(settings: Settings, burst: bool = False, metrics_bind: str | None = None) -> None:
    configure_for(settings)
    if metrics_bind:
        from bot import metrics
        metrics.serve(metrics_bind)
    worker = Worker(settings)
    if burst:
        worker.run(burst=True)
        return
    with _stopped_by_signals(worker.stop):
        worker.run()
