"""The bot's side of decisions: which openid each application belongs to, which are still
pending, and the record of every decision — made exactly once, however often it arrives
(callback retries, a replayed delivery, the reconciler finding it too)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from bot.binding.models import Decision
from bot.logs import log
from bot.store.keys import Keys

OWNER_TTL = 180 * 24 * 3600   # an application's owner is kept for half a year
SEEN_TTL = 180 * 24 * 3600
UNCLAIMED_TTL = 30 * 24 * 3600  # a decision waits this long for the bot to learn whose it is
REFUSED_KEPT = 1000             # the newest refused decisions kept for operators (about; a capped stream)

# KEYS: seen, stream, pending, owner, unclaimed. ARGV: application id, decision json, seen ttl,
# openid or '', unclaimed ttl. 1: recorded; 2: recorded, waiting for its owner; 0: a repeat.
# No owner yet happens when the bureau accepted a submission whose answer never reached the bot
# (a timeout) and decided before the user's 重试 told the bot again: the decision waits.
_RECORD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('ZREM', KEYS[3], ARGV[1])  -- decided all the same: nothing left to reconcile
  return 0
end
local openid = ARGV[4]
if openid == '' then openid = redis.call('GET', KEYS[4]) or '' end
if openid == '' then
  redis.call('RPUSH', KEYS[5], ARGV[2])
  redis.call('EXPIRE', KEYS[5], ARGV[5])
  return 2
end
redis.call('XADD', KEYS[2], '*', 'decision', ARGV[2], 'openid', openid)
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: owner, pending, unclaimed, stream. ARGV: application id, openid, owner ttl, submitted at.
# The owner, and either the decisions that waited for it or a place among the pending.
_OWN = """
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
local waiting = redis.call('LRANGE', KEYS[3], 0, -1)
if #waiting == 0 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return 0
end
for _, decision in ipairs(waiting) do
  redis.call('XADD', KEYS[4], '*', 'decision', decision, 'openid', ARGV[2])
end
redis.call('DEL', KEYS[3])
return #waiting
"""


@dataclass(frozen=True)
class Refused:
    at: datetime              # when the callback came
    decision: Decision        # what it said
    reason: str               # why it was not confirmed (bot.binding.confirm.REASONS)
    bureau_status: str        # what the bureau's status said instead ('' when nothing)


class Decisions:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis, self.keys = client, keys
        self._record = client.register_script(_RECORD)
        self._own = client.register_script(_OWN)

    def remember_submission(self, application_id: str, openid: str, submitted_at: float | None = None) -> None:
        """Called when the bot submits: whom to tell, and what to reconcile if no callback comes
        (or, if the decision came first, the decision now goes to this user)."""
        claimed = self._own(keys=[self.keys.application_owner(application_id), self.keys.pending_applications(),
                                  self.keys.unclaimed_decisions(application_id), self.keys.decisions()],
                            args=[application_id, openid, OWNER_TTL, submitted_at or time.time()])
        if claimed:
            log.info("decision_claimed", application_id=application_id, decisions=claimed)

    def record(self, decision: Decision, openid: str = "") -> bool:
        """True the first time this decision is recorded; False for every repeat. Whom to tell is
        the application's owner, unless the caller knows (`openid`: the user who just acted)."""
        # The fingerprint is the outcome, not the event id: the callback and the reconciler
        # describe the same decision with different event ids.
        fingerprint = f"{decision.kind}|{decision.application_id}|{decision.binding_id}|{decision.status}"
        result = self._record(
            keys=[self.keys.decision_seen(fingerprint), self.keys.decisions(), self.keys.pending_applications(),
                  self.keys.application_owner(decision.application_id),
                  self.keys.unclaimed_decisions(decision.application_id)],
            args=[decision.application_id, decision.model_dump_json(), SEEN_TTL, openid, UNCLAIMED_TTL])
        if result == 2:
            log.info("decision_waiting_for_owner", application_id=decision.application_id)
        return bool(result)

    def refuse(self, decision: Decision, reason: str, bureau_status: str = "") -> None:
        """A callback's decision the bureau did not confirm: kept for operators, never notified.
        It leaves no trace on the exactly-once record, so the genuine decision, when it comes, is
        recorded as usual."""
        self.redis.xadd(self.keys.refused_decisions(),
                        {"decision": decision.model_dump_json(), "reason": reason, "bureau_status": bureau_status},
                        maxlen=REFUSED_KEPT, approximate=True)

    def refused(self, count: int = 100) -> list[Refused]:
        """The newest refused decisions, oldest first (for operators and tests)."""
        entries = self.redis.xrevrange(self.keys.refused_decisions(), count=count)
        return [Refused(at=datetime.fromtimestamp(int(entry_id.split(b"-")[0]) / 1000, tz=UTC),
                        decision=Decision.model_validate_json(fields[b"decision"]),
                        reason=fields[b"reason"].decode(), bureau_status=fields[b"bureau_status"].decode())
                for entry_id, fields in reversed(entries)]

    def follow_up(self, openid: str, effect: str, value: dict[str, Any], now: float) -> None:
        """What the bot must follow up on after a flow's effect: a submission's decision; an
        unbinding's notification (recorded here too, so it does not depend on the bureau's
        callback; the two are one). Both are the bureau's own answers to our calls: nothing to
        confirm, unlike a callback's.

        Whom an unbinding's notification goes to: the initiator, always. Ended by the initiator
        (`unbind`), that is this user (the application may have been made elsewhere, so the
        caller's openid is the surest). Ended by the member (`unbind_as_member`), it is the
        application's owner, as for the bureau's callback: the member has the chat's receipt,
        and the notification's words are the initiator's (您为…办理的家庭共济已解除)."""
        if effect == "submit_application":
            self.remember_submission(value["application_id"], openid, now)
        elif effect in ("unbind", "unbind_as_member") and value.get("application_id"):
            self.record(Decision(
                event_id=f"bot:{value['binding_id']}:ended", kind="binding.ended",
                application_id=value["application_id"], binding_id=value["binding_id"], status="ended",
                reason=value.get("end_reason"), decided_at=value.get("ended_at") or now),
                openid=openid if effect == "unbind" else "")

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
