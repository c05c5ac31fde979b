"""The bot's side of decisions: which openid each application belongs to, which are still
pending, and the record of every decision — made exactly once, however often it arrives
(callback retries, a replayed delivery, the reconciler finding it too).

A binding has two people, and its end is news to both: the initiator (the application's owner,
remembered at submission) and the member, when they use this account too. The member is found
through the identity links: an application's member is remembered as the keyed digest of their ID
number (the initiator typed it; a member who consents here is remembered from their own link), and
the person's newest verified openid is looked up by it when the binding ends. Whoever ended it in
the chat has the reply as their receipt: only the other one is notified."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from bot.binding.models import Decision
from bot.logs import log
from bot.store.keys import Keys

OWNER_TTL = 180 * 24 * 3600   # an application's owner (and member) is kept for half a year…
BINDING_KEPT = 10 * 365 * 24 * 3600   # …and, once approved, for as long as its binding lasts (ten years at most)
SEEN_TTL = 180 * 24 * 3600
UNCLAIMED_TTL = 30 * 24 * 3600  # a decision waits this long for the bot to learn whose it is
REFUSED_KEPT = 1000             # the newest refused decisions kept for operators (about; a capped stream)

# The two people a decision may be told to: the stream entry's `party` (none: the initiator).
INITIATOR, MEMBER = "initiator", "member"
# What a decision does to its application's owner and member records: an approval keeps them while
# the binding lasts (its end, years later, is told to both); a refusal or an end is the last one.
_AFTER = {"approved": "keep", "rejected": "last", "ended": "last", "terminated": "last"}

# KEYS: seen, stream, pending, owner, unclaimed, member. ARGV: application id, decision json, seen
# ttl, initiator's openid or '' (the owner's), unclaimed ttl, '1' to tell the initiator, the
# member's openid or '' (nobody to tell), what becomes of the owner and member records: 'keep'
# (approved: the binding's life), 'last' (the last decision: back to the owner's ttl), '' (as they are);
# the binding's life (s), the owner's ttl (s).
# 1: recorded; 2: recorded, the initiator's news waiting for its owner; 0: a repeat. The member is
# not told on the initiator's openid (one phone, both people: one card, the initiator's). Either
# entry, both or none (the one who ended it in the chat, with a member who never used this
# account): the decision is marked seen all the same, so that the bureau's callback for it tells
# nobody again.
# No owner yet happens when the bureau accepted a submission whose answer never reached the bot
# (a timeout) and decided before the user's 重试 told the bot again: the decision waits.
_RECORD = f"""
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('ZREM', KEYS[3], ARGV[1])  -- decided all the same: nothing left to reconcile
  return 0
end
local result = 1
local owner = ARGV[4]
if owner == '' then owner = redis.call('GET', KEYS[4]) or '' end
if ARGV[6] == '1' then
  local openid = owner
  if openid == '' then
    redis.call('RPUSH', KEYS[5], ARGV[2])
    redis.call('EXPIRE', KEYS[5], ARGV[5])
    result = 2
  else
    redis.call('XADD', KEYS[2], '*', 'decision', ARGV[2], 'openid', openid)
  end
end
if ARGV[7] ~= '' and ARGV[7] ~= owner then
  redis.call('XADD', KEYS[2], '*', 'decision', ARGV[2], 'openid', ARGV[7], 'party', '{MEMBER}')
end
if result == 1 then redis.call('ZREM', KEYS[3], ARGV[1]) end
if ARGV[8] == 'keep' then
  if owner ~= '' then redis.call('EXPIRE', KEYS[4], ARGV[9]) end
  if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('EXPIRE', KEYS[6], ARGV[9]) end
elseif ARGV[8] == 'last' then
  -- Kept a while yet: a callback of an earlier decision may still be on its way.
  if owner ~= '' then redis.call('EXPIRE', KEYS[4], ARGV[10]) end
  if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('EXPIRE', KEYS[6], ARGV[10]) end
end
return result
"""

# KEYS: owner, pending, unclaimed, stream, member. ARGV: application id, openid, owner ttl,
# submitted at, the member's digest or ''. The owner (and the member), and either the decisions
# that waited for it or a place among the pending.
_OWN = """
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[5], 'EX', ARGV[3]) end
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


class People(Protocol):
    """The identity links (bot/conversations/identities.py), as decisions use them."""

    def digest(self, id_number: str) -> str: ...
    def get(self, openid: str) -> dict[str, Any] | None: ...
    def openid_of(self, id_digest: str) -> str | None: ...


@dataclass(frozen=True)
class Refused:
    at: datetime              # when the callback came
    decision: Decision        # what it said
    reason: str               # why it was not confirmed (bot.binding.confirm.REASONS)
    bureau_status: str        # what the bureau's status said instead ('' when nothing)


class Decisions:
    def __init__(self, client: redis.Redis, keys: Keys, people: People | None = None) -> None:
        """`people`: the identity links, through which a binding's member is found (without them
        only initiators are told)."""
        self.redis, self.keys, self.people = client, keys, people
        self._record = client.register_script(_RECORD)
        self._own = client.register_script(_OWN)

    def remember_submission(self, application_id: str, openid: str, submitted_at: float | None = None,
                            member_digest: str = "") -> None:
        """Called when the bot submits: whom to tell (and the member, by the keyed digest of their
        ID number), and what to reconcile if no callback comes (or, if the decision came first,
        the decision now goes to this user)."""
        claimed = self._own(keys=[self.keys.application_owner(application_id), self.keys.pending_applications(),
                                  self.keys.unclaimed_decisions(application_id), self.keys.decisions(),
                                  self.keys.application_member(application_id)],
                            args=[application_id, openid, OWNER_TTL, submitted_at or time.time(), member_digest])
        if claimed:
            log.info("decision_claimed", application_id=application_id, decisions=claimed)

    def remember_member(self, application_id: str, member_digest: str) -> None:
        """The application's member, known another way than by submitting (they consented here)."""
        self.redis.set(self.keys.application_member(application_id), member_digest, ex=OWNER_TTL)

    def record(self, decision: Decision, openid: str = "", *, member: str = "", quiet: str = "") -> bool:
        """True the first time this decision is recorded; False for every repeat.

        Whom to tell: the initiator — `openid` when the caller knows it (the user who just acted),
        else the application's owner; and, when a binding ends, its member — `member` when the
        caller knows it, else the openid the member's identity link names now (nobody, when they
        never used this account). `quiet`: the party (INITIATOR, MEMBER) who ended the binding in
        the chat just now, whose receipt was the reply: not told again."""
        # The fingerprint is the outcome, not the event id: the callback and the reconciler
        # describe the same decision with different event ids.
        fingerprint = f"{decision.kind}|{decision.application_id}|{decision.binding_id}|{decision.status}"
        ended = decision.kind != "application.decided"
        if ended and quiet != MEMBER and not member:
            member = self._member(decision.application_id)
        if quiet == MEMBER or not ended or member == openid:
            member = ""
        result = self._record(
            keys=[self.keys.decision_seen(fingerprint), self.keys.decisions(), self.keys.pending_applications(),
                  self.keys.application_owner(decision.application_id),
                  self.keys.unclaimed_decisions(decision.application_id),
                  self.keys.application_member(decision.application_id)],
            args=[decision.application_id, decision.model_dump_json(), SEEN_TTL, openid, UNCLAIMED_TTL,
                  "" if quiet == INITIATOR else "1", member, _AFTER.get(decision.status, ""), BINDING_KEPT,
                  OWNER_TTL])
        if result == 2:
            log.info("decision_waiting_for_owner", application_id=decision.application_id)
        return bool(result)

    def _member(self, application_id: str) -> str:
        """The member's openid now, if the bot knows who the member is and they use this account."""
        if self.people is None:
            return ""
        digest = self.redis.get(self.keys.application_member(application_id))
        return (self.people.openid_of(digest.decode()) or "") if digest else ""

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

    def follow_up(self, openid: str, effect: str, value: dict[str, Any], now: float,
                  args: dict[str, Any] | None = None) -> None:
        """What the bot must follow up on after a flow's effect (`args` its arguments, `value` the
        bureau's answer): a submission's decision, and who its member is; a consent's member; an
        unbinding's notification (recorded here too, so it does not depend on the bureau's
        callback; the two are one decision). All are the bureau's own answers to our calls:
        nothing to confirm, unlike a callback's.

        An unbinding is told to the other party only: the one who ended it has this chat's reply
        as the receipt. Ended by the initiator (`unbind`), the member is told, if they use this
        account. Ended by the member (`unbind_as_member`), the initiator is: the application's
        owner, as for the bureau's callback."""
        args = args or {}
        if effect == "submit_application":
            number = args.get("member_id_number")
            digest = self.people.digest(number) if number and self.people is not None else ""
            self.remember_submission(value["application_id"], openid, now, member_digest=digest)
        elif effect == "answer_consent" and args.get("agree") and value.get("application_id"):
            identity = self.people.get(openid) if self.people is not None else None
            if identity and identity.get("id_digest"):
                self.remember_member(value["application_id"], identity["id_digest"])
        elif effect in ("unbind", "unbind_as_member") and value.get("application_id"):
            decision = Decision(
                event_id=f"bot:{value['binding_id']}:ended", kind="binding.ended",
                application_id=value["application_id"], binding_id=value["binding_id"], status="ended",
                reason=value.get("end_reason"), decided_at=value.get("ended_at") or now)
            if effect == "unbind":
                self.record(decision, openid=openid, quiet=INITIATOR)
            else:
                self.record(decision, member=openid, quiet=MEMBER)

    def pending_since(self, before: float, limit: int = 100) -> list[str]:
        raw = self.redis.zrangebyscore(self.keys.pending_applications(), "-inf", before, start=0, num=limit)
        return [item.decode() for item in raw]

    def still_pending(self, application_id: str, now: float) -> None:
        """Not decided yet: look again after the next interval, not on every round."""
        self.redis.zadd(self.keys.pending_applications(), {application_id: now}, xx=True)

    def forget(self, application_id: str) -> None:
        self.redis.zrem(self.keys.pending_applications(), application_id)

    def recorded(self, count: int = 100) -> list[tuple[Decision, str]]:
        """The newest notifications recorded, a decision with the openid it tells (one decision
        may tell both people: two of them), for operators and tests."""
        return [(decision, openid) for decision, openid, _ in self.told(count)]

    def told(self, count: int = 100) -> list[tuple[Decision, str, str]]:
        """Likewise, with the party each is told to (INITIATOR, MEMBER)."""
        entries = self.redis.xrevrange(self.keys.decisions(), count=count)
        return [(Decision.model_validate_json(fields[b"decision"]), fields[b"openid"].decode(),
                 fields.get(b"party", INITIATOR.encode()).decode())
                for _, fields in reversed(entries)]
