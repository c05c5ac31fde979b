"""Moving a deployment's keys from the layout before the hash tags (until commit 2ddcf01) to the
tagged one (bot/store/keys.py): on the same Redis by RENAME (atomic, its TTL kept); into another —
a Redis Cluster — by DUMP and RESTORE with the TTL left, the source left as it was (to be dropped
once the new release runs).

Run with `serve` and `worker` stopped (`wxbot redis migrate` refuses while a worker beats; `serve`
and `worker` refuse to start while the old layout is left):
  moved    drafts, identity links, the people's newest openids, waiting notices, the binding
           decisions (seen, stream with its consumer group, pending, owners, unclaimed, refused),
           the callbacks' nonces
  kept     under their names: the notification machinery's `{<ns>:notify}` keys (records,
           retries, dead letters, subscriptions), challenges, the WeChat credentials — copied too
           into another Redis
  skipped  deliveries (their lease and reply cache: minutes), user locks, queues and rate windows
           (seconds), lock retractions, the plaintext nonces (now keyed by signature: the replay
           window restarts, plaintext mode only), the guard's limit windows (an hour or a day,
           keyed by a digest of the openid: they start again empty)
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis

from bot.store.keys import Keys

_OPENID = r"([^:{}]+)"   # WeChat's openids: letters, digits, - and _


def _renames(keys: Keys) -> dict[str, tuple[re.Pattern[str], Callable[..., str]]]:
    """What an old key is (under the namespace: its pattern) → its new name."""
    return {
        "draft": (re.compile(rf"draft:{_OPENID}"), keys.conversation),
        "identity": (re.compile(rf"identity:{_OPENID}"), keys.identity),
        "person's openid": (re.compile(r"identity:person:([0-9a-f]{32})"),
                            lambda digest: _person_openid(keys, digest)),
        "waiting notices": (re.compile(rf"notify:pending:{_OPENID}"), keys.pending_notices),
        "decision seen": (re.compile(r"binding:decided:([0-9a-f]{32})"),
                          lambda digest: _binding(keys, f"decided:{digest}")),
        "decisions stream": (re.compile(r"binding:decisions"), keys.decisions),
        "refused decisions": (re.compile(r"binding:refused"), keys.refused_decisions),
        "pending applications": (re.compile(r"binding:pending"), keys.pending_applications),
        "unclaimed decisions": (re.compile(r"binding:unclaimed:(.+)"), keys.unclaimed_decisions),
        "application owner": (re.compile(r"binding:owner:(.+)"), keys.application_owner),
        "callback nonce": (re.compile(r"binding:nonce:([0-9a-f]{32})"),
                           lambda digest: f"{keys.namespace}:binding-nonce:{digest}"),
    }


# Old keys that are not moved, and why (see the module's docstring).
_SKIPPED = {
    "delivery": re.compile(r"delivery:[0-9a-f]{32}"),
    "user lock": re.compile(rf"lock:user:{_OPENID}"),
    "user queue": re.compile(rf"queue:user:{_OPENID}"),
    "rate window": re.compile(rf"rate:user:{_OPENID}"),
    "lock retraction": re.compile(r"lock:retracted:[0-9a-f]+"),
    "limit window": re.compile(r"limit:[a-z-]+:[0-9a-f]{32}"),
    "plaintext nonce": re.compile(r"nonce:[0-9]+:[0-9a-f]{32}"),
}


def _person_openid(keys: Keys, digest: str) -> str:
    # The old key already holds the digest the new one is tagged with (Keys._person digests the
    # id digest the same way): rebuilt from it, not from the id digest nobody kept.
    return "{" + f"{keys.namespace}:person:{digest}" + "}:openid"


def _binding(keys: Keys, rest: str) -> str:
    return "{" + f"{keys.namespace}:binding" + "}:" + rest


@dataclass
class Report:
    moved: Counter[str] = field(default_factory=Counter)     # by kind of record
    there: Counter[str] = field(default_factory=Counter)     # copied into another Redis by an earlier run
    skipped: Counter[str] = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)       # the new name was taken: left alone

    def lines(self) -> Iterator[str]:
        for kind, count in sorted(self.moved.items()):
            yield f"moved    {count:6d}  {kind}"
        for kind, count in sorted(self.there.items()):
            yield f"there    {count:6d}  {kind}"
        for kind, count in sorted(self.skipped.items()):
            yield f"skipped  {count:6d}  {kind}"
        for key in self.conflicts:
            yield f"kept     {key}: the new name exists already"


def new_name(keys: Keys, old: str) -> tuple[str, str] | None:
    """What an old key is and its new name; None when it is not moved (skipped, or not old)."""
    rest = old.removeprefix(keys.namespace + ":")
    if rest == old:
        return None
    for kind, (pattern, build) in _renames(keys).items():
        match = pattern.fullmatch(rest)
        if match:
            return kind, build(*match.groups())
    return None


# Kept under their names; copied with the rest into another Redis (on the same one they stay).
def _kept(keys: Keys) -> dict[str, re.Pattern[str]]:
    ns = re.escape(keys.namespace)
    return {
        "notification machinery": re.compile(r"\{" + ns + r":notify\}:.+"),
        "challenge": re.compile(ns + r":challenge:[0-9a-f]{32}"),
        "wechat credential": re.compile(ns + r":wechat:.+"),
    }


def migrate(source: redis.Redis, target: redis.Redis, keys: Keys, *, same_server: bool,
            dry_run: bool = False, batch: int = 500) -> Report:
    """Move every old key of the namespace in `source` to its new name in `target`; into another
    Redis, copy the keys whose names stay too."""
    report = Report()
    kept = _kept(keys)
    copied = f"{keys.namespace}:migrated"   # into another Redis: the source's keys copied so far
    patterns = [f"{keys.namespace}:*"] + ([] if same_server else ["{" + keys.namespace + ":notify}:*"])
    for pattern in patterns:
        for raw in source.scan_iter(match=pattern, count=batch):
            old = raw.decode()
            renamed = new_name(keys, old)
            if renamed is None and not same_server:
                kind = next((kind for kind, regex in kept.items() if regex.fullmatch(old)), None)
                renamed = (kind, old) if kind else None
            if renamed is None:
                rest = old.removeprefix(keys.namespace + ":")
                skipped = next((kind for kind, regex in _SKIPPED.items() if regex.fullmatch(rest)), None)
                if skipped:
                    report.skipped[skipped] += 1
                continue
            kind, new = renamed
            if not same_server and source.sismember(copied, old):
                report.there[kind] += 1          # an earlier run copied it (and the service may have changed it since)
            elif dry_run:
                if target.exists(new):
                    report.conflicts.append(new)
                else:
                    report.moved[kind] += 1
            elif _move(source, target, old, new, same_server):
                report.moved[kind] += 1
                if not same_server:
                    source.sadd(copied, old)
                    source.expire(copied, 7 * 24 * 3600)
            else:
                report.conflicts.append(new)
    return report


def _move(source: redis.Redis, target: redis.Redis, old: str, new: str, same_server: bool) -> bool:
    """False when the new name is taken (the old key is left alone)."""
    if same_server:
        try:
            return bool(source.renamenx(old, new))
        except redis.ResponseError as error:   # it expired between the scan and now
            if "no such key" in str(error).lower():
                return True
            raise
    dumped, ttl = source.dump(old), source.pttl(old)
    if dumped is None or ttl == -2:
        return True                             # expired meanwhile: nothing left to move
    try:
        target.restore(new, max(ttl, 0), dumped)   # PTTL -1 (none) → 0: no expiry
    except redis.ResponseError as error:
        if "busy" in str(error).lower():        # BUSYKEY: the new name is taken
            return False
        raise
    return True


def live_workers(client: redis.Redis, keys: Keys, within: float) -> int:
    """Workers whose heartbeat is younger than `within` seconds (the key is the same in both layouts)."""
    return client.zcount(keys.notification_workers(), time.time() - within, "+inf")


# Keys only the layout before the tags writes, that outlive any short-lived record: their presence
# means `wxbot redis migrate` has not run.
def old_layout_left(client: redis.Redis, keys: Keys) -> list[str]:
    names = [f"{keys.namespace}:binding:decisions", f"{keys.namespace}:binding:pending"]
    return [name for name in names if client.exists(name)]
