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

The ledger also carries the user's side of a message, so that a step in a conversation costs
three Redis round trips: `admit` claims the delivery and, in the same script, takes the user's
lock and reads their records (bot/store/prefetch.py); the conversation's save is the second;
`finish` records the reply and releases the lock. Only a lock still held by the user's
previous message costs more: one more round trip per attempt while waiting for it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import redis

from bot.conversations.store import parse_record
from bot.store.keys import Keys
from bot.store.prefetch import UserRecords

# Takes the user's lock and reads their records under it. KEYS[o+1..o+5]: user lock,
# conversation, identity, waiting notices, this token's retraction. ARGV[a+1], ARGV[a+2]: lock
# token, lock ttl (ms). A retracted token (its caller gave up waiting for Redis) takes nothing.
_LOCK_AND_READ = """
local function lock_and_read(o, a)
  if redis.call('EXISTS', KEYS[o+5]) == 1 then return {'busy'} end
  if not redis.call('SET', KEYS[o+1], ARGV[a+1], 'NX', 'PX', ARGV[a+2]) then return {'busy'} end
  return {'locked', redis.call('GET', KEYS[o+2]) or '', redis.call('GET', KEYS[o+3]) or '',
          redis.call('LLEN', KEYS[o+4])}
end
"""

# KEYS: nonce, delivery, then the user's five keys. ARGV: body digest, nonce ttl (s),
# processing lease (ms), lock token ('' when the message needs no lock), lock ttl (ms).
# Refuses a known nonce+timestamp carrying a different body (a captured plaintext signature
# reused with a forged body), then claims the delivery or reports its state.
_ADMIT = _LOCK_AND_READ + """
local seen = redis.call('GET', KEYS[1])
if seen and seen ~= ARGV[1] then return {'forged'} end
if not seen then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
local record = redis.call('HMGET', KEYS[2], 'status', 'body')
if record[1] then return {record[1], record[2] or ''} end
redis.call('HSET', KEYS[2], 'status', 'pending')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[4] == '' then return {'new', ''} end
local user = lock_and_read(2, 3)
table.insert(user, 1, 'new')
return user
"""

# KEYS: the user's five keys. ARGV: lock token, lock ttl (ms). One attempt at a busy lock.
_RELOCK = _LOCK_AND_READ + "return lock_and_read(0, 0)"

# KEYS: delivery, user lock. ARGV: reply body, reply ttl (s), lock token ('' when none held).
# Returns 1 when a lock was held and had expired before this release (the handler outlived it).
_FINISH = """
redis.call('HSET', KEYS[1], 'status', 'done', 'body', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[3] == '' then return 0 end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) return 0 end
return 1
"""

# KEYS: retraction, user lock. ARGV: lock token, lock ttl (ms). Whichever runs first, a late
# admission or this, the token ends up holding no lock.
_RETRACT = """
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
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
    delivery_key: str
    body: str = ""
    lock_token: str | None = None     # the user's lock, when this admission took it
    records: UserRecords | None = None  # the user's records, read under that lock


class DeliveryLedger:
    def __init__(self, client: redis.Redis, keys: Keys, *, nonce_ttl: int, lease: int, reply_ttl: int,
                 lock_ttl: int, fast_client: redis.Redis | None = None) -> None:
        self._keys, self._client = keys, client
        # Calls made at the deadline use a client that gives up within ~0.2 s and never retries.
        self._fast = fast_client or client
        self._admit = client.register_script(_ADMIT)
        self._relock = client.register_script(_RELOCK)
        self._finish = client.register_script(_FINISH)
        self._give_up = self._fast.register_script(_GIVE_UP)
        self.nonce_ttl, self.lease, self.reply_ttl, self.lock_ttl = nonce_ttl, lease, reply_ttl, lock_ttl
        self._retractions = Retractions(self._fast.register_script(_RETRACT), keys, lock_ttl)

    def spend_nonce(self, nonce_key: str, use: str) -> bool:
        """Record a nonce+timestamp as used for `use`; False when it was used for anything else
        (the same use again — WeChat repeating the same request — is fine). A POST that brings it
        later finds another digest and is refused as forged."""
        if self._client.set(nonce_key, use, nx=True, ex=self.nonce_ttl):
            return True
        seen = self._client.get(nonce_key)
        return seen is not None and seen.decode() == use

    def admit(self, nonce_key: str, body_digest: str, delivery_key: str, openid: str | None = None) -> Admission:
        """Claim the delivery; for a new one with an `openid`, also try to take that user's lock
        and read their records."""
        token = uuid.uuid4().hex if openid else ""
        keys = [nonce_key, delivery_key, *(self._user_keys(openid, token) if openid else [""] * 5)]
        result = self._attempt(self._admit, openid, token, keys, [body_digest, self.nonce_ttl, self.lease * 1000,
                                                                 token, self.lock_ttl * 1000])
        status = result[0].decode()
        if status != "new":
            return Admission(status, delivery_key, result[1].decode() if len(result) > 1 else "")
        if result[1] != b"locked":
            return Admission(status, delivery_key)
        return Admission(status, delivery_key, lock_token=token, records=_records(openid, result[2:]))

    def lock(self, openid: str, timeout: float) -> tuple[str, UserRecords] | None:
        """Wait up to `timeout` for the user's lock (held by their previous message); the lock's
        token and the records read under it, or None if it stayed busy."""
        token, deadline = uuid.uuid4().hex, time.monotonic() + timeout
        while True:
            result = self._attempt(self._relock, openid, token, self._user_keys(openid, token),
                                   [token, self.lock_ttl * 1000])
            if result[0] == b"locked":
                return token, _records(openid, result[1:])
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def finish(self, delivery_key: str, body: str, openid: str | None = None, lock_token: str | None = None) -> bool:
        """Record the reply and release the user's lock; False if the lock had expired first."""
        lock_key = self._keys.user_lock(openid) if openid and lock_token else ""
        return not self._finish(keys=[delivery_key, lock_key], args=[body, self.reply_ttl, lock_token or ""])

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

    def _attempt(self, script, openid: str | None, token: str, keys: list[str], args: list) -> list:  # noqa: ANN001
        try:
            return script(keys=keys, args=args)
        except redis.RedisError:
            # Redis may still run the script when it wakes (a stall, not a crash), taking a lock
            # nobody holds for its whole TTL: take it back as soon as Redis answers again.
            if token:
                self._retractions.add(openid, token)
            raise

    def _user_keys(self, openid: str, token: str) -> list[str]:
        keys = self._keys
        return [keys.user_lock(openid), keys.conversation(openid), keys.identity(openid),
                keys.pending_notices(openid), keys.lock_retracted(token)]


class Retractions:
    """Lock tokens whose script call failed, retracted in the background until Redis answers
    (or their lock has expired by itself). One thread per process, started on first need."""

    def __init__(self, retract, keys: Keys, lock_ttl: int) -> None:  # noqa: ANN001
        self._retract, self._keys, self._ttl = retract, keys, lock_ttl
        self._pending: dict[str, tuple[str, float]] = {}  # token -> (openid, give up at)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, openid: str, token: str) -> None:
        with self._lock:
            self._pending[token] = (openid, time.monotonic() + self._ttl)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="wxbot-retractions")
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                pending = list(self._pending.items())
            for token, (openid, give_up_at) in pending:
                try:
                    self._retract(keys=[self._keys.lock_retracted(token), self._keys.user_lock(openid)],
                                  args=[token, self._ttl * 1000])
                except redis.RedisError:
                    if time.monotonic() < give_up_at:
                        continue
                with self._lock:
                    self._pending.pop(token, None)
            time.sleep(0.2)


def _records(openid: str, values: list) -> UserRecords:
    draft, identity, notices = values
    return UserRecords(openid, *parse_record(draft), identity or None, int(notices))
