"""The bot's side of decisions: which openid each application belongs to, which are still
pending, and the record of every decision — made exactly once, however often it arrives
(callback retries, a replayed delivery, the reconciler finding it too)."""

from __future__ import annotations

import time

import redis

from bot.binding.models import Decision
from bot.store.keys import Keys

OWNER_TTL = 180 * 24 * 3600   # an application's owner is kept for half a year
SEEN_TTL = 180 * 24 * 3600

# KEYS: seen, stream, pending, owner. ARGV: application id, decision json, seen ttl, openid or ''.
_RECORD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return 0 end
local openid = ARGV[4]
if openid == '' then openid = redis.call('GET', KEYS[4]) or '' end
redis.call('XADD', KEYS[2], '*', 'decision', ARGV[2], 'openid', openid)
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


class Decisions:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis, self.keys = client, keys
        self._record = client.register_script(_RECORD)

    def remember_submission(self, application_id: str, openid: str, submitted_at: float | None = None) -> None:
        """Called when the bot submits: whom to tell, and what to reconcile if no callback comes."""
        pipe = self.redis.pipeline()
        pipe.set(self.keys.application_owner(application_id), openid, ex=OWNER_TTL)
        pipe.zadd(self.keys.pending_applications(), {application_id: submitted_at or time.time()})
        pipe.execute()

    def record(self, decision: Decision, openid: str = "") -> bool:
        """True the first time this decision is recorded; False for every repeat. Whom to tell is
        the application's owner, unless the caller knows (`openid`: the user who just acted)."""
        # The fingerprint is the outcome, not the event id: the callback and the reconciler
        # describe the same decision with different event ids.
        fingerprint = f"{decision.kind}|{decision.application_id}|{decision.binding_id}|{decision.status}"
        return bool(self._record(
            keys=[self.keys.decision_seen(fingerprint), self.keys.decisions(),
                  self.keys.pending_applications(), self.keys.application_owner(decision.application_id)],
            args=[decision.application_id, decision.model_dump_json(), SEEN_TTL, openid]))

    def pending_since(self, before: float, limit: int = 100) -> list[str]:
        raw = self.redis.zrangebyscore(self.keys.pending_applications(), "-inf", before, start=0, num=limit)
        return [item.decode() for item in raw]

    def still_pending(self, application_id: str, now: float) -> None:
        """Not decided yet: look again after the next interval, not on every round."""
        self.redis.zadd(self.keys.pending_applications(), {application_id: now}, xx=True)

    def forget(self, application_id: str) -> None:
        self.redis.zrem(self.keys.pending_applications(), application_id)

    def recorded(self, count: int = 100) -> list[tuple[Decision, str]]:
        """The newest recorded decisions with their openids (for operators and tests)."""
        entries = self.redis.xrevrange(self.keys.decisions(), count=count)
        return [(Decision.model_validate_json(fields[b"decision"]), fields[b"openid"].decode())
                for _, fields in reversed(entries)]
