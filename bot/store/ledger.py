"""The delivery ledger: each inbound delivery is processed once, and every copy of it gets the
same reply — across threads, processes and machines, because the record lives in Redis.

A record is a hash {status, body}:
  pending   the first copy claimed it and is working (expires after the processing lease,
            so a crashed worker does not block the message forever)
  queued    it waits in its user's queue behind their earlier messages (`until`: when its first
            copy stops waiting for the reply; see below)
  done      `body` is the reply every copy receives (kept for `reply_cache_ttl`); `success` when
            the first copy's deadline passed and the answer went out as a customer-service message
  deferred  the first copy answered `success` at its deadline and the handler is still working
Whether the first copy or a customer-service message carries the answer is decided in the
process that handles it (processing.Handoff) for a message handled at once, and by the record
for a queued one: its FINISH records the reply for the waiting request only while that request
still waits (status queued, before `until`), else records `success` and the holder sends the
answer; the request at its deadline takes the reply if it came, else marks the record deferred
(GIVE_UP). Both are scripts, so exactly one of the two answers.

The ledger also carries the user's side of a message, so that a step in a conversation costs
two Redis round trips: `admit` claims the delivery and, in the same script, counts the user's
rate window, takes the user's lock and reads their records (bot/store/session.py); `finish`
writes the draft the message left in its session (revision-checked), records the reply and
releases the lock. When the
lock is held by the user's previous message, `admit` puts this one in the user's queue instead
(or refuses it: the rate window or the queue is full), and the holder's `finish` hands the lock
straight to the next queued message, read with its records: one user's messages are worked one at
a time, in order, by one handler thread, and no thread waits for a busy lock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.commands.core import Script

from bot.store.keys import Keys
from bot.store.rounds import Rounds
from bot.store.session import DraftWrite, Session, parse_record

# The user's keys, from KEYS[o+1]: lock, conversation, identity, waiting notices, queue, rate
# window, this call's token's retraction.
_USER = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function with_records(o, result)
  local records = redis.call('MGET', KEYS[o+2], KEYS[o+3])
  table.insert(result, records[1] or '')
  table.insert(result, records[2] or '')
  table.insert(result, redis.call('LLEN', KEYS[o+4]))
  return result
end
-- The lock is this token's, or free: the next queued message with the records, the lock kept
-- for it; nil when none waits.
local function next_queued(o, token, lock_ttl, queue_ttl)
  local entry = redis.call('LPOP', KEYS[o+5])
  if not entry then return nil end
  redis.call('SET', KEYS[o+1], token, 'PX', lock_ttl)
  redis.call('PEXPIRE', KEYS[o+5], queue_ttl)
  return with_records(o, {'work', entry})
end
"""

# KEYS: delivery, then the user's keys (none when the message needs no lock), then the plaintext
# nonce's when it is checked here. ARGV: processing lease (ms), lock token ('' when the message
# needs no lock), lock ttl (ms), queue entry, how long the request will wait for a queued reply
# (ms), queue max, queue ttl (ms), rate limit, rate window (ms), the body's digest ('' when the
# nonce is not checked here), nonce ttl (s).
# Refuses a known nonce+timestamp carrying a different body (a captured plaintext signature
# reused with a forged body), then claims the delivery or reports its state. A new delivery that needs the user: counted in the
# rate window; then the lock and records (free, nothing queued), or a place in the queue (the
# lock held), or refused (over the rate or the queue's length). A retracted token (its caller
# gave up waiting for Redis) takes nothing. The nonce's key is nobody's (a forger picks the
# openid): a cluster checks it apart (spend_nonce), on one Redis it costs no round trip of its own.
_ADMIT = _USER + """
if ARGV[10] ~= '' and not redis.call('SET', KEYS[#KEYS], ARGV[10], 'NX', 'EX', ARGV[11])
    and redis.call('GET', KEYS[#KEYS]) ~= ARGV[10] then
  return {'forged'}
end
if redis.call('HSETNX', KEYS[1], 'status', 'pending') == 0 then
  local record = redis.call('HMGET', KEYS[1], 'status', 'body')
  return {record[1], record[2] or ''}
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[2] == '' then return {'new'} end
if redis.call('EXISTS', KEYS[8]) == 1 then return {'new', 'retracted'} end
local count = redis.call('INCR', KEYS[7])
if count == 1 then redis.call('PEXPIRE', KEYS[7], ARGV[9]) end
if count > tonumber(ARGV[8]) then return {'new', 'limited', 'rate', redis.call('PTTL', KEYS[7])} end
local waiting = redis.call('LLEN', KEYS[6])
local free = false
if waiting == 0 then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return with_records(1, {'new', 'locked'}) end
else
  free = redis.call('EXISTS', KEYS[2]) == 0
end
if not free and waiting >= tonumber(ARGV[6]) then return {'new', 'limited', 'queue', 0} end
redis.call('RPUSH', KEYS[6], ARGV[2] .. '|' .. ARGV[4])
redis.call('PEXPIRE', KEYS[6], ARGV[7])
redis.call('HSET', KEYS[1], 'status', 'queued', 'until', string.format('%d', now_ms() + tonumber(ARGV[5])))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if not free then return {'new', 'queued'} end
-- The holder's lock expired with messages still queued (it crashed): this request takes over.
local work = next_queued(1, ARGV[2], ARGV[3], ARGV[7])
table.insert(work, 1, 'new')
return work
"""

# KEYS: delivery, then the user's keys. ARGV: token, lock ttl (ms), queue ttl (ms). A queued
# delivery's request looking for its reply; it takes over a queue whose holder's lock expired.
_POLL = _USER + """
local record = redis.call('HMGET', KEYS[1], 'status', 'body')
if record[1] == 'done' then return {'done', record[2]} end
if record[1] ~= 'queued' then return {record[1] or 'gone'} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local work = next_queued(1, ARGV[1], ARGV[2], ARGV[3])
  if work then return work end
end
return {'queued'}
"""

# KEYS: delivery, then the user's keys. ARGV: reply body, reply ttl (s), lock token ('' when none
# held), queued ('1': its request waits on the record), lock ttl (ms), queue ttl (ms), then the
# draft the message leaves: the revision it was read at ('' : none to write), its new revision,
# its state ('' clears it) and ttl (s).
# Returns {-1} when the draft was changed by another writer since it was read (a holder whose
# lock had expired): nothing is written, nothing released; the caller records another reply.
# Else {late, lock expired[, 'work', next entry, records]}: late = 1 when a queued delivery's
# request no longer waits (it gave up, or its time is over): `success` is recorded and the caller
# sends the answer. The lock goes to the user's next queued message, if any, else is released;
# one taken over by another holder (this one outlived it) is left alone, with the queue.
_FINISH = _USER + """
if ARGV[7] ~= '' then
  local current = redis.call('GET', KEYS[3])
  local rev = current and tonumber(string.match(current, '^(%d+):')) or 0
  if rev ~= tonumber(ARGV[7]) then return {-1} end
  redis.call('SET', KEYS[3], ARGV[8] .. ':' .. ARGV[9], 'EX', ARGV[10])
end
local late = 0
if ARGV[4] == '1' then
  local record = redis.call('HMGET', KEYS[1], 'status', 'until')
  if record[1] ~= 'queued' or tonumber(record[2] or 0) <= now_ms() then late = 1 end
end
redis.call('HSET', KEYS[1], 'status', 'done', 'body', late == 1 and 'success' or ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[3] == '' then return {late, 0} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[3] then return {late, 1} end
local expired = holder and 0 or 1
local work = next_queued(1, ARGV[3], ARGV[5], ARGV[6])
if not work then
  if holder then redis.call('DEL', KEYS[2]) end
  return {late, expired}
end
table.insert(work, 1, expired)
table.insert(work, 1, late)
return work
"""

# KEYS: retraction, user lock, user queue. ARGV: lock token, lock ttl (ms), '1' to withdraw the
# message the token queued too. Whichever runs first, a late script or this, the token ends up
# holding no lock (and having no message queued).
_RETRACT = """
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[3] ~= '1' then return 1 end
local prefix = ARGV[1] .. '|'
for _, entry in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if string.sub(entry, 1, #prefix) == prefix then redis.call('LREM', KEYS[3], 1, entry) end
end
return 1
"""

# KEYS: delivery, then the user's lock and queue (when the lock is held). ARGV: processing lease
# (ms), the lock's token, lock ttl (ms), queue ttl (ms). A handler still working: its delivery's
# record (not yet answered) lives on for another lease; while the user's lock is still its own,
# the lock, the user's queue behind it and the records of the deliveries waiting in it live on
# too (they would expire under a long step, and WeChat's copies of them be processed twice). No
# TTL is ever shortened.
_RENEW = """
local function extend(key, ttl)
  local left = redis.call('PTTL', key)
  if left >= 0 and left < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'pending' or status == 'queued' or status == 'deferred' then extend(KEYS[1], ARGV[1]) end
if ARGV[2] == '' or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
extend(KEYS[2], ARGV[3])
extend(KEYS[3], ARGV[4])
-- An entry is '<token>|<delivery key>|<sealed message>' (bot/webhook/queued.py); the key is the user's.
for _, entry in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local key = string.match(entry, '^[^|]*|([^|]*)|')
  if key and redis.call('HGET', key, 'status') == 'queued' then extend(key, ARGV[4]) end
end
return 1
"""

# KEYS: delivery. ARGV: reply ttl (s). The first copy's deadline: the reply if it was recorded
# first; else the delivery is deferred, and retries answer `success` too.
_GIVE_UP = """
local record = redis.call('HMGET', KEYS[1], 'status', 'body')
if record[1] == 'done' then return record[2] end
redis.call('HSET', KEYS[1], 'status', 'deferred')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return false
"""


@dataclass(frozen=True)
class Work:
    """A queued message taken out of the user's queue, with the user's lock held for it and the
    records read under that lock."""
    openid: str
    lock_token: str
    entry: str          # processing.QueueCodec's: the delivery key, then the sealed message
    records: Session


@dataclass(frozen=True)
class Admission:
    status: str  # new | pending | queued | done | deferred | forged
    delivery_key: str
    body: str = ""
    lock_token: str | None = None     # the user's lock, when this admission took it for this message
    records: Session | None = None  # the user's records, read under that lock
    queued: bool = False              # it waits in the user's queue; its reply comes through the record
    work: Work | None = None          # a queue left by a holder whose lock expired, taken over
    limited: str = ""                 # refused: 'rate' (the window's count) or 'queue' (its length)
    retry_after: int = 0              # seconds until the rate window ends


@dataclass(frozen=True)
class Finished:
    late: bool                # a queued message's request had stopped waiting: send the answer
    lock_expired: bool = False  # the handler outlived the user's lock
    work: Work | None = None  # the user's next queued message, the lock kept for it
    stale: bool = False       # the draft was changed by another writer: nothing was recorded


class DeliveryLedger:
    def __init__(self, client: redis.Redis, keys: Keys, *, nonce_ttl: int, lease: int, reply_ttl: int,
                 lock_ttl: int, queue_max: int = 5, rate_limit: int = 30, rate_window: int = 60,
                 fast_client: redis.Redis | None = None, nonce_apart: bool = False) -> None:
        self._keys, self._client = keys, client
        # On a cluster the nonce's key lies in another slot than the user's: checked on its own.
        self.nonce_apart = nonce_apart
        # Calls made at the deadline use a client that gives up within ~0.2 s and never retries.
        self._fast = fast_client or client
        self._admit = client.register_script(_ADMIT)
        self._poll = self._fast.register_script(_POLL)
        self._finish = client.register_script(_FINISH)
        self._give_up = self._fast.register_script(_GIVE_UP)
        self.nonce_ttl, self.lease, self.reply_ttl, self.lock_ttl = nonce_ttl, lease, reply_ttl, lock_ttl
        self.queue_max, self.rate_limit, self.rate_window = queue_max, rate_limit, rate_window
        # A queue outlives a crashed holder's lock, for the next message or waiting request to take over.
        self.queue_ttl = 2 * lock_ttl
        self._retractions = Retractions(self._fast.register_script(_RETRACT), keys, lock_ttl)
        self.leases = Leases(client.register_script(_RENEW), keys, lease, lock_ttl, self.queue_ttl)

    def spend_nonce(self, nonce_key: str, use: str) -> bool:
        """Record a nonce+timestamp as used for `use`; False when it was used for anything else
        (the same use again — WeChat repeating the same request — is fine). A POST that brings it
        later finds another digest and is refused as forged."""
        if self._client.set(nonce_key, use, nx=True, ex=self.nonce_ttl):
            return True
        seen = self._client.get(nonce_key)
        return seen is not None and seen.decode() == use

    def admit(self, delivery_key: str, openid: str | None = None, entry: str = "", wait: float = 0.0,
              nonce: tuple[str, str] | None = None) -> Admission:
        """Claim the delivery; for a new one with an `openid`, also count it in the user's rate
        window and take that user's lock and read their records — or, when their previous message
        holds the lock, put `entry` in their queue, whose reply this request waits for up to
        `wait` seconds. The delivery key is that user's (Keys.delivery). A plaintext delivery's
        `nonce` (its key, the body's digest) is spent first: `forged` when it came with another body."""
        if nonce and self.nonce_apart:
            if not self.spend_nonce(*nonce):
                return Admission("forged", delivery_key)
            nonce = None
        token = uuid.uuid4().hex if openid else ""
        keys = [delivery_key, *(self._user_keys(openid, token) if openid else []), *(nonce[:1] if nonce else [])]
        args = [self.lease * 1000, token, self.lock_ttl * 1000, entry,
                max(0, int(wait * 1000)), self.queue_max, self.queue_ttl * 1000, self.rate_limit,
                self.rate_window * 1000, nonce[1] if nonce else "", self.nonce_ttl]
        result = self._attempt(self._admit, openid, token, keys, args, queues=True)
        status = result[0].decode()
        if status != "new":
            return Admission(status, delivery_key, result[1].decode() if len(result) > 1 else "")
        user = result[1].decode() if len(result) > 1 else ""
        if user == "locked":
            return Admission(status, delivery_key, lock_token=token, records=_records(openid, result[2:]))
        if user == "limited":
            return Admission(status, delivery_key, limited=result[2].decode(),
                             retry_after=max(1, -(-int(result[3]) // 1000)))
        if user == "queued":
            return Admission(status, delivery_key, queued=True)
        if user == "work":
            return Admission(status, delivery_key, queued=True, work=_work(openid, token, result[1:]))
        return Admission(status, delivery_key)   # no lock needed, or retracted

    def poll(self, delivery_key: str, openid: str) -> tuple[str, str, Work | None]:
        """A queued delivery's state (status, body when done), and the user's queue when its
        holder's lock had expired (this caller now holds the lock for the returned message)."""
        token = uuid.uuid4().hex
        result = self._attempt(self._poll, openid, token, [delivery_key, *self._user_keys(openid, token)],
                               [token, self.lock_ttl * 1000, self.queue_ttl * 1000])
        status = result[0].decode()
        if status == "done":
            return status, result[1].decode(), None
        if status == "work":
            return "queued", "", _work(openid, token, result)
        return status, "", None

    def finish(self, delivery_key: str, body: str, openid: str | None = None, lock_token: str | None = None,
               queued: bool = False, draft: DraftWrite | None = None) -> Finished:
        """Write the message's `draft` unless another writer changed it since it was read (then
        nothing at all is done: `stale`); record the reply (for a `queued` delivery, only if its
        request still waits) and pass the user's lock to their next queued message, or release it."""
        held = bool(openid and lock_token)
        if draft is not None and not held:
            raise ValueError("a draft is written under the user's lock")
        keys = [delivery_key, *(self._user_keys(openid, lock_token) if held else [])]
        args = [body, self.reply_ttl, lock_token if held else "", "1" if queued else "0", self.lock_ttl * 1000,
                self.queue_ttl * 1000, *((draft.expected_rev, draft.rev, draft.state, draft.ttl) if draft
                                         else ("", "", "", ""))]
        result = self._attempt(self._finish, openid, lock_token if held else "", keys, args)
        if result[0] == -1:
            return Finished(late=False, stale=True)
        late, expired = bool(result[0]), bool(result[1])
        return Finished(late, expired, _work(openid, lock_token, result[2:]) if len(result) > 2 else None)

    def give_up(self, delivery_key: str) -> str | None:
        """At the first copy's deadline: the reply if it has just been recorded, else None (the
        delivery is marked deferred)."""
        body = self._give_up(keys=[delivery_key], args=[self.reply_ttl])
        return body.decode() if body is not None else None

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

    def _attempt(self, script: Script, openid: str | None, token: str, keys: list[str], args: list,
                 queues: bool = False) -> list:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError:
            # Redis may still run the script when it wakes (a stall, not a crash), taking a lock
            # nobody holds for its whole TTL, or queueing a message whose sender was told 系统繁忙
            # (`queues`): take them back as soon as Redis answers again.
            if token:
                self._retractions.add(openid, token, queued=queues)
            raise

    def _user_keys(self, openid: str, token: str) -> list[str]:
        keys = self._keys
        return [keys.user_lock(openid), keys.conversation(openid), keys.identity(openid),
                keys.pending_notices(openid), keys.user_queue(openid), keys.user_rate(openid),
                keys.lock_retracted(openid, token)]


class Leases:
    """Deliveries whose handler is still working, their lease renewed every third of it — with
    their user's lock and queue — so that a step that outlives `processing_lease` (a slow bureau)
    is never processed again by a retry, nor overtaken by the user's next message, whose place in
    the queue is kept. A handler stuck for `MAX_RENEWALS` leases is let go: its lock expires, and
    the revision check keeps its late draft from overwriting a newer one."""

    MAX_RENEWALS = 20

    def __init__(self, renew: Script, keys: Keys, lease: int, lock_ttl: int, queue_ttl: int) -> None:
        self._renew, self._keys, self._lease, self._lock_ttl = renew, keys, lease, lock_ttl
        self._queue_ttl = queue_ttl
        # Every third of the shorter of the two: neither the record nor the lock lapses between rounds.
        self._rounds: Rounds[int, tuple[str, str, str, float]] = Rounds(
            "wxbot-leases", min(lease, lock_ttl) / 3, self._renewed)   # id -> (delivery key, openid, token, until)

    @contextmanager
    def held(self, delivery_key: str, openid: str | None, token: str | None) -> Iterator[None]:
        """While the body runs, the delivery's lease (and the user's lock, `token`) is renewed."""
        ticket = object()
        self._rounds.put(id(ticket), (delivery_key, openid or "", token or "",
                                      time.monotonic() + self.MAX_RENEWALS * self._lease))
        try:
            yield
        finally:
            self._rounds.discard(id(ticket))

    def _renewed(self, _: int, held: tuple[str, str, str, float]) -> bool:
        """Never done by itself: the holder's `held` ends it."""
        delivery_key, openid, token, until = held
        if time.monotonic() > until:
            return False
        keys = [delivery_key, *([self._keys.user_lock(openid), self._keys.user_queue(openid)] if token else [])]
        try:
            self._renew(keys=keys, args=[self._lease * 1000, token, self._lock_ttl * 1000, self._queue_ttl * 1000])
        except redis.RedisError:
            pass   # Redis is away: the next round tries again, within the lease's last two thirds
        return False


class Retractions:
    """Lock tokens whose script call failed, retracted in the background until Redis answers
    (or their lock has expired by itself)."""

    def __init__(self, retract: Script, keys: Keys, lock_ttl: int) -> None:
        self._retract, self._keys, self._ttl = retract, keys, lock_ttl
        # token -> (openid, give up at, queued)
        self._rounds: Rounds[str, tuple[str, float, bool]] = Rounds("wxbot-retractions", 0.2, self._retracted)

    def add(self, openid: str, token: str, queued: bool = False) -> None:
        """`queued`: the call may have queued a message under this token; withdraw it too."""
        self._rounds.put(token, (openid, time.monotonic() + self._ttl, queued))

    def _retracted(self, token: str, pending: tuple[str, float, bool]) -> bool:
        """Done when Redis took it back, or its lock has expired by itself meanwhile."""
        openid, give_up_at, queued = pending
        try:
            self._retract(keys=[self._keys.lock_retracted(openid, token), self._keys.user_lock(openid),
                                self._keys.user_queue(openid)],
                          args=[token, self._ttl * 1000, "1" if queued else "0"])
        except redis.RedisError:
            return time.monotonic() >= give_up_at
        return True


def _records(openid: str, values: list) -> Session:
    draft, identity, notices = values
    return Session(openid, *parse_record(draft), identity or None, int(notices))


def _work(openid: str, token: str, values: list) -> Work:
    """From a script's {'work', entry, records…}: the entry without this token's prefix."""
    entry = values[1].decode().partition("|")[2]
    return Work(openid, token, entry, _records(openid, values[2:]))
