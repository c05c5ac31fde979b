"""The notification machinery in Redis: the decisions stream read through a consumer group, one
claim per notification while it is being sent, retries waiting in a sorted set, dead letters.

Every key but the stream shares the hash tag `{<ns>:notify}` (bot/store/keys.py), so each script
below touches one slot. The stream is the binding side's record of decisions; here it is only read
and acknowledged, one key per command. A late answer (bot/notify/late.py) does not come through the
stream: its record is written by the webhook (`begin_late`), claimed for its first attempt in the
same script, with a retry due once that claim's lease has run out.

Exactly once: a record's status is checked under its claim before every attempt; the claim (a
lease of `notifications.reclaim_after`) keeps two workers from sending one notification at once;
WeChat drops a repeated `client_msg_id` within 10 minutes, which covers a send whose answer was
lost with its worker.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import redis

from bot.config import Settings
from bot.notify.records import FAILED, LATE_KEPT, QUEUED, RECORD_TTL, SENT, WAITING_FOR_USER
from bot.store.keys import Keys

GROUP = "notify"
DEAD_KEPT = 90 * 24 * 3600   # dead letters are listed this long (their records expire then too)
DECISIONS_KEPT = 1000        # the newest decisions stay in the stream for operators (`wxbot binding decisions`)
PAUSE_CHECKED = 1.0          # seconds a worker trusts what it last read of an API's pause

# KEYS: record, claim, retries. ARGV: id, claim token, lease ms, '1' from the stream ('' a retry),
# openid, decision json, now, record ttl, party ('' the initiator). The record is made for a
# stream entry the first time.
# → {'go', attempt, openid, decision, kind, text, party} | {'done', status} | {'gone'} | {'scheduled'} | {'busy'}
_BEGIN = f"""
if ARGV[5] ~= '' and redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'status', '{QUEUED}', 'openid', ARGV[5], 'decision', ARGV[6], 'attempts', 0,
             'created_at', ARGV[7], 'party', ARGV[9])
  redis.call('EXPIRE', KEYS[1], ARGV[8])
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {{'gone'}}
end
if status ~= '{QUEUED}' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {{'done', status}}
end
if ARGV[4] == '1' and redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {{'scheduled'}} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {{'busy'}} end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local fields = redis.call('HMGET', KEYS[1], 'openid', 'decision', 'kind', 'text', 'party')
return {{'go', tostring(attempt), fields[1] or '', fields[2] or '', fields[3] or '', fields[4] or '', fields[5] or ''}}
"""

# KEYS: record, claim, retries. ARGV: id, claim token, lease ms, openid, kind, sealed text, now,
# record ttl. A late answer's record, made once (its id is its delivery's), claimed for its first
# attempt, and due as a retry when the claim's lease runs out — should the process making that
# attempt die. → {'go'} | {'exists'} (made before: its claim and status take care of it)
_LATE = f"""
if redis.call('EXISTS', KEYS[1]) == 1 then return {{'exists'}} end
redis.call('HSET', KEYS[1], 'status', '{QUEUED}', 'kind', ARGV[5], 'openid', ARGV[4], 'text', ARGV[6],
           'attempts', 1, 'created_at', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], tonumber(ARGV[7]) + tonumber(ARGV[3]) / 1000, ARGV[1])
return {{'go'}}
"""

_RELEASE = """
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('ZREM', KEYS[3], ARGV[1])
"""

# KEYS: record, claim, retries, by msgid. ARGV: id, token, msgid, now, record ttl. A late answer's
# text is not kept once it is sent (nor once parked: the user's notices hold it then).
_SENT = f"""
redis.call('HSET', KEYS[1], 'status', '{SENT}', 'msgid', ARGV[3], 'sent_at', ARGV[4], 'last_error', '')
redis.call('HDEL', KEYS[1], 'text')
if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[5]) end
{_RELEASE}
"""

# A holder whose claim ran out while it was still calling WeChat (a call slower than
# `reclaim_after`) finds the notification settled by another: its failure or parking changes nothing.
_STILL_OURS = f"""
if redis.call('HGET', KEYS[1], 'status') ~= '{QUEUED}' then
  if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
  return 0
end
"""

# KEYS: record, claim, retries. ARGV: id, token.
_PARKED = _STILL_OURS + f"""
redis.call('HSET', KEYS[1], 'status', '{WAITING_FOR_USER}')
redis.call('HDEL', KEYS[1], 'text')
{_RELEASE}
"""

# KEYS: record, claim, retries, dead. ARGV: id, token, error, '1' final, due, now, kept seconds,
# '1' when the attempt does not count (a paused API: it was never made, or met the quota).
_FAILED = _STILL_OURS + f"""
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'status', '{FAILED}', 'last_error', ARGV[3])
  {_RELEASE}
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[6] - ARGV[7])
else
  redis.call('HSET', KEYS[1], 'last_error', ARGV[3])
  if ARGV[8] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
  if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
end
"""

# KEYS: pause. ARGV: until (unix ms), value. A pause is only ever lengthened (a minute's limit
# met during the day's pause does not end it early). 1: set; 0: a longer one holds.
_PAUSE = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['until_ms']) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[1])
return 1
"""

# KEYS: stream. ARGV: floor (an entry id: every group has acknowledged everything below it), kept.
# Removes what is below the floor, except the newest `kept` entries. → entries removed.
_TRIM = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function below(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local kept = tonumber(ARGV[2])
if redis.call('XLEN', KEYS[1]) <= kept then return 0 end
local floor = ARGV[1]
if kept > 0 then
  local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', kept)
  local oldest_kept = tail[#tail][1]
  if below(oldest_kept, floor) then floor = oldest_kept end
end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
"""

# KEYS: retries. ARGV: now, lease until, count. The due retries, each leased: it is due again
# after the lease if its worker dies before the attempt is recorded.
_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
"""

# KEYS: record, dead, retries. ARGV: id, now. 1 queued again; 0 not dead; -1 its record expired.
_REVIVE = f"""
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'status', '{QUEUED}', 'attempts', 0)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Begun:
    """What `begin` found: `go` (claimed; `attempt` counts this one) or why not."""
    outcome: str           # go, done, gone, scheduled, busy
    status: str = ""       # the record's, when done
    attempt: int = 0
    openid: str = ""
    decision: str = ""     # a decision's notification: the decision (json)
    token: str = ""
    kind: str = ""         # '' a decision's; late_answer (bot/notify/late.py)
    text: str = ""         # a late answer's, sealed (bot/notify/sealed.py)
    party: str = ""        # whose side of the decision it tells: '' the initiator's, "member"


@dataclass(frozen=True)
class Paused:
    """Sends through an API wait until `until` (unix time), for `reason`."""
    until: float
    reason: str


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _after(entry_id: str) -> str:
    """The smallest entry id above `entry_id`."""
    ms, seq = _id_order(entry_id)
    return f"{ms}-{seq + 1}"


def worker_name() -> str:
    """This process as a consumer of the group and in the workers' heartbeats: `<host>:<pid>`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def notification_id(entry_id: str) -> str:
    """A stream entry's notification id: its id without the dash (also the `client_msg_id`)."""
    return entry_id.replace("-", "")


class NotificationQueue:
    def __init__(self, client: redis.Redis, settings: Settings, consumer: str | None = None,
                 reader: redis.Redis | None = None) -> None:
        """`reader`: the client that waits on the stream (no read timeout); `client` by default."""
        self.redis, self.settings = client, settings
        self.reader = reader or client
        self.keys = Keys.of(settings)
        self.stream = self.keys.decisions()
        self.consumer = consumer or worker_name()
        self.lease_ms = settings.notifications.reclaim_after * 1000
        self._begin = client.register_script(_BEGIN)
        self._late = client.register_script(_LATE)
        self._sent = client.register_script(_SENT)
        self._parked = client.register_script(_PARKED)
        self._failed = client.register_script(_FAILED)
        self._due = client.register_script(_DUE)
        self._revive = client.register_script(_REVIVE)
        self._pause = client.register_script(_PAUSE)
        self._trim = client.register_script(_TRIM)
        self._group_ready = False
        self._pauses: dict[str, tuple[float, Paused | None]] = {}   # api → (read at, what it said)
        self._pauses_lock = threading.Lock()

    # -- the decisions stream ----------------------------------------------------------------------
    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def read(self, count: int, block_ms: int | None) -> list[tuple[str, dict[bytes, bytes]]]:
        """New entries for this consumer (they stay pending until acknowledged)."""
        self.ensure_group()
        fresh = self.reader.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        return [(entry_id.decode(), fields) for _, batch in fresh or [] for entry_id, fields in batch]

    def reclaim(self, count: int) -> list[tuple[str, dict[bytes, bytes] | None]]:
        """Entries another consumer took and has held for `reclaim_after` without acknowledging
        them (it died, or lost Redis mid-send): now this one's. Fields None: the entry is gone."""
        self.ensure_group()
        reply = self.redis.xautoclaim(self.stream, GROUP, self.consumer, min_idle_time=self.lease_ms,
                                      start_id="0-0", count=count)
        return [(entry_id.decode(), fields or None) for entry_id, fields in reply[1]]

    def ack(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.redis.xack(self.stream, GROUP, *entry_ids)

    def give_back(self, entry_ids: list[str]) -> None:
        """Entries this consumer took and will not process (it is stopping): marked idle for
        `reclaim_after`, so that the next worker's reclaim takes them at once."""
        if entry_ids:
            self.redis.xclaim(self.stream, GROUP, self.consumer, 0, entry_ids, idle=self.lease_ms, justid=True)

    def trim(self, kept: int = DECISIONS_KEPT) -> int:
        """Entries every consumer group has acknowledged leave the stream (their notifications'
        records keep what they said), but for the newest `kept`. The floor: per group, its oldest
        entry still pending, or, with none pending, the entry after the last it read; the lowest
        of them. Entries below it can never be delivered again, to any group. → entries removed."""
        try:
            groups = self.redis.xinfo_groups(self.stream)
        except redis.ResponseError:
            return 0   # no stream yet
        floors = []
        for group in groups:
            if group["pending"]:
                oldest = self.redis.xpending(self.stream, group["name"])["min"]
                floors.append(_text(oldest))
            else:
                floors.append(_after(_text(group["last-delivered-id"])))
        if not floors:
            return 0   # nobody reads it yet: everything waits
        floor = min(floors, key=_id_order)
        return int(self._trim(keys=[self.stream], args=[floor, kept]))

    def forget_idle_consumers(self, idle_ms: int = 24 * 3600 * 1000) -> None:
        """Consumers (one per worker process ever started) that hold nothing and were idle a day."""
        self.ensure_group()
        for consumer in self.redis.xinfo_consumers(self.stream, GROUP):
            name = consumer["name"].decode() if isinstance(consumer["name"], bytes) else consumer["name"]
            if consumer["pending"] == 0 and consumer["idle"] > idle_ms and name != self.consumer:
                self.redis.xgroup_delconsumer(self.stream, GROUP, name)

    # -- one notification ----------------------------------------------------------------------------
    def begin(self, notification_id: str, from_stream: bool, openid: str = "", decision: str = "",
              party: str = "") -> Begun:
        token = uuid.uuid4().hex
        reply = self._begin(keys=[self.keys.notification(notification_id), self.keys.notification_claim(notification_id),
                                  self.keys.notification_retries()],
                            args=[notification_id, token, self.lease_ms, "1" if from_stream else "", openid, decision,
                                  time.time(), RECORD_TTL, party])
        outcome = reply[0].decode()
        if outcome == "go":
            return Begun(outcome, attempt=int(reply[1]), openid=reply[2].decode(), decision=reply[3].decode(),
                         token=token, kind=reply[4].decode(), text=reply[5].decode(),
                         party=reply[6].decode())
        return Begun(outcome, status=reply[1].decode() if len(reply) > 1 else "")

    def begin_late(self, notification_id: str, openid: str, kind: str, text: str) -> Begun:
        """A late answer's record (`text` sealed), claimed for its first attempt: `go`; `exists`
        when it was made before (then its claim and status decide who sends it, and when)."""
        token = uuid.uuid4().hex
        reply = self._late(keys=self._own(notification_id),
                           args=[notification_id, token, self.lease_ms, openid, kind, text, time.time(), LATE_KEPT])
        outcome = reply[0].decode()
        if outcome == "go":
            return Begun(outcome, attempt=1, openid=openid, token=token, kind=kind, text=text)
        return Begun(outcome)

    def sent(self, notification_id: str, token: str, msgid: str) -> None:
        self._sent(keys=[*self._own(notification_id), self.keys.notification_by_msgid(msgid)],
                   args=[notification_id, token, msgid, time.time(), RECORD_TTL])

    def parked(self, notification_id: str, token: str) -> None:
        self._parked(keys=self._own(notification_id), args=[notification_id, token])

    def failed(self, notification_id: str, token: str, error: str, final: bool, retry_in: float,
               counted: bool = True) -> None:
        """The attempt failed: a dead letter (`final`), or due again in `retry_in` seconds.
        `counted` False: it does not count towards max_attempts (the API was paused)."""
        now = time.time()
        self._failed(keys=[*self._own(notification_id), self.keys.notification_dead()],
                     args=[notification_id, token, error, "1" if final else "", now + retry_in, now, DEAD_KEPT,
                           "" if counted else "1"])

    # -- an API paused (45009 the day's quota, 45011 the minute's) -----------------------------------
    def pause(self, api: str, until: float, reason: str) -> bool:
        """Every worker's sends through `api` wait until `until`. True when this call paused it (or
        lengthened the pause); False when a pause at least as long already held."""
        paused = Paused(until, reason)
        with self._pauses_lock:
            self._pauses[api] = (time.monotonic(), paused)
        value = json.dumps({"until_ms": int(until * 1000), "reason": reason})
        return bool(self._pause(keys=[self.keys.notification_pause(api)], args=[int(until * 1000), value]))

    def paused(self, api: str) -> Paused | None:
        """Whether sends through `api` wait now, as read from Redis at most once a second per worker."""
        now = time.monotonic()
        with self._pauses_lock:
            read_at, paused = self._pauses.get(api, (float("-inf"), None))
        if now - read_at >= PAUSE_CHECKED:
            raw = self.redis.get(self.keys.notification_pause(api))
            paused = None
            if raw:
                stored = json.loads(raw)
                paused = Paused(stored["until_ms"] / 1000, stored["reason"])
            with self._pauses_lock:
                self._pauses[api] = (now, paused)
        return paused if paused is not None and paused.until > time.time() else None

    def _own(self, notification_id: str) -> list[str]:
        return [self.keys.notification(notification_id), self.keys.notification_claim(notification_id),
                self.keys.notification_retries()]

    # -- retries and dead letters --------------------------------------------------------------------
    def due(self, count: int) -> list[str]:
        """Retries due now, each leased to this worker for `reclaim_after`."""
        now = time.time()
        return [item.decode() for item in self._due(keys=[self.keys.notification_retries()],
                                                    args=[now, now + self.lease_ms / 1000, count])]

    def due_again(self, notification_ids: list[str]) -> None:
        """Leased retries this worker will not attempt (it is stopping): due now, for any worker."""
        if notification_ids:
            self.redis.zadd(self.keys.notification_retries(), dict.fromkeys(notification_ids, time.time()), xx=True)

    def next_due(self) -> float | None:
        """When the earliest waiting retry is due (None: none waits)."""
        first = self.redis.zrange(self.keys.notification_retries(), 0, 0, withscores=True)
        return first[0][1] if first else None

    def dead(self) -> list[str]:
        """Dead letters, oldest first."""
        key = self.keys.notification_dead()
        self.redis.zremrangebyscore(key, "-inf", time.time() - DEAD_KEPT)
        return [item.decode() for item in self.redis.zrange(key, 0, -1)]

    def revive(self, notification_id: str) -> int:
        """A dead letter queued again with all its attempts: 1; not dead: 0; its record expired: -1."""
        return int(self._revive(keys=[self.keys.notification(notification_id), self.keys.notification_dead(),
                                      self.keys.notification_retries()], args=[notification_id, time.time()]))
