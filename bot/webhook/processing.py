"""Process one admitted delivery: the user's lock, the handler, the reply — within the deadline.

The handler runs on a worker thread. The request thread waits for it until shortly before the
deadline; if it is not done by then the request answers `success`, and when the handler finishes
its answer is sent as a customer-service message instead. Which of the two happens is decided
in this process, under one lock (`Handoff`), so it needs no Redis call at the deadline: a slow
Redis cannot push the reply past WeChat's 5 seconds, nor lose the answer. The Redis ledger only
tells WeChat's retries, in whatever process they land, what the first copy did.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import redis

from bot import metrics
from bot.logs import log, user_ref
from bot.store.prefetch import UserRecords, using
from bot.webhook.envelope import Envelope, EnvelopeCodec
from bot.webhook.inbound import Inbound
from bot.webhook.ledger import Admission, DeliveryLedger
from bot.webhook.replies import render
from flows import texts
from handlers.reply import NoReply, Reply, Text

Route = Callable[[Inbound], Reply]
SendText = Callable[[str, str], None]  # (openid, content)


# Stop waiting this long before the deadline: the reply still has to be encrypted and sent.
SAFETY_MARGIN = 0.3


class UserBusy(Exception):
    """The user's lock could not be taken in time."""


_OUTCOMES = {Text(texts.BUSY): "busy", Text(texts.ERROR): "error"}  # what the user got, for metrics


@dataclass
class UserLock:
    """The user's lock for one message (None: not held) and the records read under it."""
    token: str | None
    records: UserRecords | None


@dataclass
class Handoff:
    """Between the request thread and the handler thread: who delivers the answer."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    body: str | None = None
    outcome: str = "reply"   # what the user got, for metrics: reply | busy | error
    abandoned: bool = False

    def deliver(self, body: str, outcome: str = "reply") -> bool:
        """The handler's side: True when the waiting request will carry `body`."""
        with self.lock:
            if self.abandoned:
                return False
            self.body, self.outcome = body, outcome
        self.done.set()
        return True

    def abandon(self) -> str | None:
        """The request's side at the deadline: the body if it just arrived, else None (and the
        handler will send its answer later)."""
        with self.lock:
            if self.body is None:
                self.abandoned = True
            return self.body


@dataclass
class Processor:
    ledger: DeliveryLedger
    codec: EnvelopeCodec
    route: Route
    send_text: SendText
    lock_ttl: int
    threads: int
    needs_user_lock: Callable[[Inbound], bool] = lambda inbound: True

    def __post_init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        # Created on first use, so that it is born in the (forked) worker process that uses it.
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wxbot-handler")
            return self._pool

    def reply_within(self, inbound: Inbound, envelope: Envelope, admission: Admission,
                     budget: float) -> tuple[str, str]:
        """The body to answer with, and what it is (reply | busy | error | success)."""
        handoff = Handoff()
        self.pool.submit(self._process, inbound, envelope, admission, handoff)
        if handoff.done.wait(timeout=max(0.0, budget - SAFETY_MARGIN)):
            return handoff.body, handoff.outcome
        body = handoff.abandon()
        if body is not None:
            return body, handoff.outcome
        log.info("deadline_fallback", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
        metrics.deadline_fallback()
        try:
            self.ledger.give_up(admission.delivery_key)  # so that retries elsewhere answer `success` too
        except redis.RedisError:
            pass  # the answer is on its way by customer-service message all the same
        return "success", "success"

    @metrics.HANDLERS_BUSY.track_inprogress()
    def _process(self, inbound: Inbound, envelope: Envelope, admission: Admission, handoff: Handoff) -> str:
        started = time.monotonic()
        lock = UserLock(admission.lock_token, admission.records)
        try:
            reply = self._handle(inbound, lock)
            body = self.codec.seal(render(reply, inbound), envelope)
        except Exception:  # noqa: BLE001 - rendering failed: still answer, never leave the request hanging
            log.exception("render_failed", user_ref=user_ref(inbound.openid))
            reply = Text(texts.ERROR)
            body = self.codec.seal(render(reply, inbound), envelope)
        outcome = _OUTCOMES.get(reply, "reply")
        # All this thread's Redis work and logging come before the request is woken: the two
        # threads then never run at once, which would cost both of them GIL hand-overs.
        recorded = "success" if handoff.abandoned else body  # a hint; settled below if it changes
        try:
            # The reply's record and the lock's release travel together.
            if not self.ledger.finish(admission.delivery_key, recorded, inbound.openid, lock.token):
                log.warning("user_lock_expired", user_ref=user_ref(inbound.openid))
        except redis.RedisError:
            # The lock expires by itself; the retries find the delivery pending, then expired.
            log.warning("ledger_unavailable", user_ref=user_ref(inbound.openid))
        log.info("processed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type,
                 wx_event=inbound.event or None, duration_ms=round((time.monotonic() - started) * 1000, 1))
        if not handoff.deliver(body, outcome):
            self._answer_late(inbound, admission, reply, recorded)
        return body

    def _answer_late(self, inbound: Inbound, admission: Admission, reply: Reply, recorded: str) -> None:
        """The request answered `success` at its deadline: WeChat's retries must get `success`
        too, and the answer goes out as a customer-service message."""
        if recorded != "success":
            try:
                self.ledger.finish(admission.delivery_key, "success")
            except redis.RedisError:
                log.warning("ledger_unavailable", user_ref=user_ref(inbound.openid))
        if isinstance(reply, Text):
            self._send_late(inbound, reply)

    def _handle(self, inbound: Inbound, lock: UserLock) -> Reply:
        if not self.needs_user_lock(inbound):
            return self._unlocked(inbound)
        try:
            if lock.token is None:
                # The user's previous message still holds the lock (admission could not take it).
                # It expires by itself, so a crashed worker blocks the user no longer than its TTL.
                waiting = time.monotonic()
                taken = self.ledger.lock(inbound.openid, timeout=self.lock_ttl)
                metrics.user_lock_waited(time.monotonic() - waiting, acquired=taken is not None)
                if taken is None:
                    raise UserBusy()
                lock.token, lock.records = taken
            with using(lock.records):
                return self.route(inbound)
        except (redis.RedisError, UserBusy):
            log.warning("handler_unavailable", user_ref=user_ref(inbound.openid), exc_info=True)
            return Text(texts.BUSY)
        except Exception:  # noqa: BLE001 - the user must get an answer whatever a handler does
            log.exception("handler_failed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
            return Text(texts.ERROR)

    def _unlocked(self, inbound: Inbound) -> Reply:
        try:
            return self.route(inbound)
        except Exception:  # noqa: BLE001 - an acknowledgement must not fail
            log.exception("handler_failed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
            return NoReply()

    def _send_late(self, inbound: Inbound, reply: Text) -> None:
        try:
            self.send_text(inbound.openid, reply.content)
            log.info("late_reply_sent", user_ref=user_ref(inbound.openid))
            metrics.late_reply(sent=True)
        except Exception as exc:  # noqa: BLE001 - logged by type only: the error may echo the token URL
            log.error("late_reply_failed", user_ref=user_ref(inbound.openid), error=type(exc).__name__)
            metrics.late_reply(sent=False)
