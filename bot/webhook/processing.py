"""Process one admitted delivery: the user's lock, the handler, the reply — within the deadline.

The handler runs on a worker thread. The request thread waits for it until the deadline; if it
is not done by then the request answers `success`, and when the handler finishes its answer is
sent as a customer-service message instead. The ledger decides which of the two happens, once.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Callable

import redis

from bot.logs import log, user_ref
from bot.store.keys import Keys
from bot.webhook.envelope import Envelope, EnvelopeCodec
from bot.webhook.inbound import Inbound
from bot.webhook.ledger import DeliveryLedger
from bot.webhook.replies import render
from flows import texts
from handlers.reply import Reply, Text

Route = Callable[[Inbound], Reply]
SendText = Callable[[str, str], None]  # (openid, content)


class UserBusy(Exception):
    """The user's lock could not be taken in time."""


@dataclass
class Processor:
    redis: redis.Redis
    keys: Keys
    ledger: DeliveryLedger
    codec: EnvelopeCodec
    route: Route
    send_text: SendText
    lock_ttl: int
    threads: int

    def __post_init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        # Created on first use, so that it is born in the (forked) worker process that uses it.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wxbot-handler")
        return self._pool

    def reply_within(self, inbound: Inbound, envelope: Envelope, delivery_key: str, budget: float) -> str:
        future: Future[str] = self.pool.submit(self._process, inbound, envelope, delivery_key)
        try:
            return future.result(timeout=max(0.0, budget))
        except FutureTimeout:
            body = self.ledger.give_up(delivery_key)
            if body is None:
                log.info("deadline_fallback", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
                return "success"
            return body

    def _process(self, inbound: Inbound, envelope: Envelope, delivery_key: str) -> str:
        started = time.monotonic()
        reply = self._handle(inbound)
        body = self.codec.seal(render(reply, inbound), envelope)
        inline = self.ledger.finish(delivery_key, body)
        if not inline and isinstance(reply, Text):
            self._send_late(inbound, reply)
        log.info("processed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type,
                 wx_event=inbound.event or None, inline=inline,
                 duration_ms=round((time.monotonic() - started) * 1000, 1))
        return body

    def _handle(self, inbound: Inbound) -> Reply:
        try:
            # The lock is taken before any conversation state is read, and it expires by itself
            # so that a crashed worker cannot block the user for longer than its TTL.
            lock = self.redis.lock(self.keys.user_lock(inbound.openid), timeout=self.lock_ttl,
                                   blocking_timeout=self.lock_ttl, sleep=0.01)
            if not lock.acquire():
                raise UserBusy()
            try:
                return self.route(inbound)
            finally:
                lock.release()
        except (redis.RedisError, UserBusy):
            log.warning("handler_unavailable", user_ref=user_ref(inbound.openid), exc_info=True)
            return Text(texts.BUSY)
        except Exception:  # noqa: BLE001 - the user must get an answer whatever a handler does
            log.exception("handler_failed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
            return Text(texts.ERROR)

    def _send_late(self, inbound: Inbound, reply: Text) -> None:
        try:
            self.send_text(inbound.openid, reply.content)
            log.info("late_reply_sent", user_ref=user_ref(inbound.openid))
        except Exception as exc:  # noqa: BLE001 - logged by type only: the error may echo the token URL
            log.error("late_reply_failed", user_ref=user_ref(inbound.openid), error=type(exc).__name__)
