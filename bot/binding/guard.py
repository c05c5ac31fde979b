"""The bot's own limits on identity verification and everything guessable, on top of the
bureau's (issue 14; docs/security.md has the threat model).

It runs where the flows' effects run (handlers/effects.py), because only there are the asker (the
openid), the effect and its outcome all known:
- starting a verification: per openid, at most `people_per_day` different people and
  `codes_per_openid_hour` codes; per person, `codes_per_person_hour` codes whoever asks;
- the answer to a start is the same whether the name and ID number match or not: an unmatched
  pair gets a challenge that was never sent (a decoy) and no phone hint, so a leaked identity list
  cannot be checked against the bureau; every code fails on a decoy, like a wrong one;
- a challenge takes `attempts_per_code` codes, then a new one must be sent;
- wrong guesses of any kind (SMS codes, consent codes, a member's unmatched name/ID pair) count
  against the openid that made them, never against the person: a stranger cannot lock anyone out.
  The guess that reaches `wrong_guesses_per_hour` is the last; then everything guessable waits.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Callable

import redis

from bot import metrics
from bot.binding.service import BindingService
from bot.config import LimitSettings
from bot.logs import log, user_ref
from bot.store.keys import Keys
from flows.engine import TOO_MANY_ATTEMPTS, Effect, EffectDone
from handlers.effects import run_effect

HOUR, DAY = 3600, 24 * 3600
DECOY_TTL = 300   # as long as a real challenge lives at the bureau (its expires_at says so too)

# Outcomes that are a wrong guess by whoever asked.
WRONG_GUESSES = {
    "complete_verification": {"verification_code_wrong"},
    "consent_request": {"consent_not_found"},
    "answer_consent": {"consent_not_found"},
    "submit_application": {"name_id_mismatch"},
}
UNMATCHED = {"name_id_mismatch", "person_not_found"}

# KEYS: one set per limit. ARGV: for each, (member, or '' to only check; limit; seconds). A window
# is full when adding a new member would pass its limit: then {its index, ms until it empties}.
# Otherwise every member is added ({0, 0}); a set's window starts with its first member.
_TAKE = """
for i, key in ipairs(KEYS) do
  local member, limit = ARGV[3*i-2], tonumber(ARGV[3*i-1])
  if (member == '' or redis.call('SISMEMBER', key, member) == 0) and redis.call('SCARD', key) >= limit then
    return {i, redis.call('PTTL', key)}
  end
end
for i, key in ipairs(KEYS) do
  local member = ARGV[3*i-2]
  if member ~= '' and redis.call('SADD', key, member) == 1 and redis.call('SCARD', key) == 1 then
    redis.call('EXPIRE', key, ARGV[3*i])
  end
end
return {0, 0}
"""


@dataclass(frozen=True)
class Window:
    name: str       # for logs and the metric
    key: str
    member: str     # what this event adds ('' only checks)
    limit: int
    seconds: int


class Limited(Exception):
    def __init__(self, window: Window, retry_after: float) -> None:
        super().__init__(window.name)
        self.window, self.retry_after = window, retry_after


class Guard:
    def __init__(self, client: redis.Redis, keys: Keys, limits: LimitSettings, digest: Callable[[str], str],
                 clock: Callable[[], float] = time.time) -> None:
        self.redis, self.keys, self.limits, self.digest, self.clock = client, keys, limits, digest, clock
        self._take = client.register_script(_TAKE)

    def run(self, effect: Effect, binding: BindingService, openid: str, person_id: str | None) -> EffectDone:
        """`run_effect`, within the limits."""
        try:
            if effect.name == "start_verification":
                return self._start(effect, binding, openid, person_id)
            if effect.name == "complete_verification":
                return self._complete(effect, binding, openid, person_id)
            if effect.name in WRONG_GUESSES:
                self._check(self._wrong_guesses(openid, ""))
                return self._counted(effect, run_effect(effect, binding, openid, person_id), openid)
        except Limited as limited:
            return self._refused(effect, openid, limited)
        return run_effect(effect, binding, openid, person_id)

    # -- verification ---------------------------------------------------------------------------
    def _start(self, effect: Effect, binding: BindingService, openid: str, person_id: str | None) -> EffectDone:
        person = self.digest(effect.args["id_number"])
        fresh = uuid.uuid4().hex
        self._check(self._wrong_guesses(openid, ""),
                    Window("people_per_day", self.keys.limit("people", openid), person,
                           self.limits.people_per_day, DAY),
                    Window("codes_per_openid_hour", self.keys.limit("codes", openid), fresh,
                           self.limits.codes_per_openid_hour, HOUR),
                    Window("codes_per_person_hour", self.keys.limit("person-codes", person), fresh,
                           self.limits.codes_per_person_hour, HOUR))
        done = run_effect(effect, binding, openid, person_id)
        if done.ok:
            self._remember(done.value["challenge_id"], openid, sent=True, ttl=_ttl(done.value, self.clock()))
            # No phone hint before the code is right: it would tell a matched pair from an unmatched one.
            return EffectDone(effect.name, ok=True, value={**done.value, "masked_phone": None})
        if done.error in UNMATCHED:
            return self._decoy(effect, openid)
        return done

    def _decoy(self, effect: Effect, openid: str) -> EffectDone:
        """The answer to an unmatched name and ID number: a challenge like any other, never sent."""
        challenge_id = "C" + secrets.token_hex(8)
        self._remember(challenge_id, openid, sent=False, ttl=DECOY_TTL)
        expires = datetime.fromtimestamp(self.clock() + DECOY_TTL, UTC).isoformat()
        return EffectDone(effect.name, ok=True, value={"challenge_id": challenge_id, "method": "sms",
                                                       "masked_phone": None, "url": None, "expires_at": expires})

    def _complete(self, effect: Effect, binding: BindingService, openid: str, person_id: str | None) -> EffectDone:
        self._check(self._wrong_guesses(openid, ""))
        key = self.keys.challenge(effect.args["challenge_id"])
        owner, sent = self.redis.hmget(key, "openid", "sent")
        if owner is None or owner.decode() != openid:
            return EffectDone(effect.name, ok=False, error="verification_expired")   # a new code is sent
        tries = self.redis.hincrby(key, "tries", 1)
        if sent == b"1":
            done = run_effect(effect, binding, openid, person_id)
        else:
            done = EffectDone(effect.name, ok=False, error="verification_code_wrong")
        if done.ok:
            self.redis.delete(key)
        done = self._counted(effect, done, openid)
        if done.error == "verification_code_wrong" and tries >= self.limits.attempts_per_code:
            self.redis.delete(key)   # this code is spent: the flow has a new one sent
            return EffectDone(effect.name, ok=False, error="verification_expired")
        return done

    def _remember(self, challenge_id: str, openid: str, sent: bool, ttl: int) -> None:
        key = self.keys.challenge(challenge_id)
        self.redis.hset(key, mapping={"openid": openid, "sent": int(sent), "tries": 0})
        self.redis.expire(key, ttl)

    # -- windows --------------------------------------------------------------------------------
    def _wrong_guesses(self, openid: str, member: str) -> Window:
        return Window("wrong_guesses_per_hour", self.keys.limit("wrong", openid), member,
                      self.limits.wrong_guesses_per_hour, HOUR)

    def _counted(self, effect: Effect, done: EffectDone, openid: str) -> EffectDone:
        """A wrong guess counts against the openid; the one that fills the window says so at once."""
        if done.error not in WRONG_GUESSES.get(effect.name, ()):
            return done
        self._check(self._wrong_guesses(openid, uuid.uuid4().hex))
        try:
            self._check(self._wrong_guesses(openid, ""))
        except Limited as limited:
            return self._refused(effect, openid, limited)
        return done

    def _check(self, *windows: Window) -> None:
        index, pttl = self._take(keys=[w.key for w in windows],
                                 args=[value for w in windows for value in (w.member, w.limit, w.seconds)])
        if index:
            window = windows[index - 1]
            raise Limited(window, pttl / 1000 if pttl > 0 else window.seconds)

    def _refused(self, effect: Effect, openid: str, limited: Limited) -> EffectDone:
        log.warning("limit_reached", limit=limited.window.name, effect=effect.name, user_ref=user_ref(openid))
        metrics.limit_reached(limited.window.name)
        return EffectDone(effect.name, ok=False, error=TOO_MANY_ATTEMPTS,
                          value={"retry_after": round(limited.retry_after)})


def _ttl(challenge: dict, now: float) -> int:
    expires = datetime.fromisoformat(challenge["expires_at"]).timestamp()
    return max(60, round(expires - now))
