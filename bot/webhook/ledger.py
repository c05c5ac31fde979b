"""The delivery ledger: each inbound delivery is processed once, and every copy of it gets the
same reply — across threads, processes and machines, because the record lives in Redis.

A record is a hash {status, body}:
  pending   the first copy claimed it and is working (expires after the processing lease,
            so a crashed worker does not block the message forever)
  done      `body` is the reply every copy receives (kept for `reply_cache_ttl`); `success` when
            the first copy's deadline passed and the answer went out as a customer-service message
  deferred  the first copy answered `success` at its deadline and the handler is still working
Whether the first copy or a customer-service message carries the answer is decided in the
process that handles it (processing.Handoff); the record only informs the retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

# KEYS: nonce, delivery. ARGV: body digest, nonce ttl (s), processing lease (ms).
# Refuses a known nonce+timestamp carrying a different body (a captured plaintext signature
# reused with a forged body), then claims the delivery or reports its state.
_ADMIT = """
local seen = redis.call('GET', KEYS[1])
if seen and seen ~= ARGV[1] then return {'forged'} end
if not seen then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
local record = redis.call('HMGET', KEYS[2], 'status', 'body')
if record[1] then return {record[1], record[2] or ''} end
redis.call('HSET', KEYS[2], 'status', 'pending')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {'new'}
"""

# KEYS: delivery. ARGV: reply ttl (s). Retries of a delivery whose first copy answered `success`
# answer `success` too (unless the reply was recorded first).
_GIVE_UP = """
if redis.call('HGET', KEYS[1], 'status') == 'done' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'deferred')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Admission:
    status: str  # new | pending | done | deferred | forged
    body: str = ""


class DeliveryLedger:
    def __init__(self, client: redis.Redis, *, nonce_ttl: int, lease: int, reply_ttl: int,
                 fast_client: redis.Redis | None = None) -> None:
        self._redis = client
        # Calls made at the deadline use a client that gives up within ~0.2 s and never retries.
        self._fast = fast_client or client
        self._admit = client.register_script(_ADMIT)
        self._give_up = self._fast.register_script(_GIVE_UP)
        self.nonce_ttl, self.lease, self.reply_ttl = nonce_ttl, lease, reply_ttl

    def admit(self, nonce_key: str, body_digest: str, delivery_key: str) -> Admission:
        result = self._admit(keys=[nonce_key, delivery_key],
                             args=[body_digest, self.nonce_ttl, self.lease * 1000])
        status = result[0].decode()
        return Admission(status, result[1].decode() if len(result) > 1 else "")

    def finish(self, delivery_key: str, body: str) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(delivery_key, mapping={"status": "done", "body": body})
        pipe.expire(delivery_key, self.reply_ttl)
        pipe.execute()

    def give_up(self, delivery_key: str) -> None:
        self._give_up(keys=[delivery_key], args=[self.reply_ttl])

    def wait(self, delivery_key: str, timeout: float) -> str:
        """A repeated copy waits for the first one's reply; `success` if it does not come in time
        (the first copy then owns the answer and delivers it) or Redis stops answering."""
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            try:
                status, body = self._fast.hmget(delivery_key, "status", "body")
            except redis.RedisError:
                return "success"
            if status == b"done":
                return body.decode()
            if status in (b"deferred", None) or time.monotonic() + pause > deadline:
                return "success"
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
