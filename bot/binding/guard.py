"""The bot's own limits on identity verification and everything guessable, on top of the
bureau's (issue 14; docs/security.md has the threat model).

It runs where the flows' effects run (bot/binding/effects.py), because only there are the asker (the
openid), the effect and its outcome all known:
- starting a verification: per openid, at most `people_per_day` different people and
  `codes_per_openid_hour` codes; per name and ID number, `codes_per_person_hour` codes whoever
  asks — except from the openid the person is already linked to — so that the person's phone gets
  no more, and a stranger with only the number cannot use up the person's own;
- what the user sees of a challenge is the guard's alone, the same whether the name and ID number
  matched or not: an unmatched pair gets a challenge that was never sent (a decoy) and no phone
  hint; its codes go to the bureau all the same (which knows no such challenge), so they take as
  long and fail alike; a code takes `attempts_per_code` tries; `wrong_codes_before_lock` wrong
  codes for one person lock that openid (never the person) for `lock_minutes`; whatever the
  bureau answers to a wrong code (wrong, spent, locked) is counted and said the guard's way;
- wrong guesses of any kind (SMS codes, consent codes, a member's unmatched name/ID pair) count
  against the openid that made them. The guess that reaches `wrong_guesses_per_hour` is the last;
  then everything guessable waits.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from bot import metrics
from bot.binding.effects import run_effect
from bot.binding.service import BindingService
from bot.config import LimitSettings
from bot.logs import log, user_ref
from bot.store.keys import Keys, hash_tag
from flows.engine import TOO_MANY_ATTEMPTS, Effect, EffectDone

HOUR, DAY = 3600, 24 * 3600
# How long the guard keeps a challenge, real or decoy, alike: as long as the bureau's codes live
# (the contract's expires_at; the sandbox's are 300 s). A code answered later gets a new one sent.
CHALLENGE_TTL = 300

# Outcomes that are a wrong guess by whoever asked (a verification code's are _complete's).
WRONG_GUESSES = {
    "consent_request": {"consent_not_found"},
    "answer_consent": {"consent_not_found"},
    "submit_application": {"name_id_mismatch"},
}
UNMATCHED = {"name_id_mismatch", "person_not_found"}
_A_WRONG_CODE = {"verification_code_wrong", "verification_expired", "verification_locked"}

# KEYS: one set per limit, all in one slot. ARGV: '1' to take, '0' only to look; then for each
# (member, or '' to only check; limit; seconds). A window is full when adding a new member would
# pass its limit: then {its index, ms until it empties}. Otherwise, when taking, every member is
# added ({0, 0}); a set's window starts with its first member.
_TAKE = """
for i, key in ipairs(KEYS) do
  local member, limit = ARGV[3*i-1], tonumber(ARGV[3*i])
  if (member == '' or redis.call('SISMEMBER', key, member) == 0) and redis.call('SCARD', key) >= limit then
    return {i, redis.call('PTTL', key)}
  end
end
if ARGV[1] ~= '1' then return {0, 0} end
for i, key in ipairs(KEYS) do
  local member = ARGV[3*i-1]
  if member ~= '' and redis.call('SADD', key, member) == 1 and redis.call('SCARD', key) == 1 then
    redis.call('EXPIRE', key, ARGV[3*i+1])
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
                 binding: BindingService, clock: Callable[[], float] = time.time) -> None:
        self.redis, self.keys, self.limits, self.digest, self.clock = client, keys, limits, digest, clock
        self.binding = binding
        self._take = client.register_script(_TAKE)

    def run(self, effect: Effect, openid: str, person_id: str | None) -> EffectDone:
        """`run_effect` on the binding service, within the limits."""
        try:
            if effect.name == "start_verification":
                return self._start(effect, openid, person_id)
            if effect.name == "complete_verification":
                return self._complete(effect, openid, person_id)
            if effect.name in WRONG_GUESSES:
                self._check(self._wrong_guesses(openid, ""))
                return self._counted(effect, run_effect(effect, self.binding, openid, person_id), openid)
        except Limited as limited:
            return self._refused(effect, openid, limited)
        return run_effect(effect, self.binding, openid, person_id)

    # -- verification ---------------------------------------------------------------------------
    def _start(self, effect: Effect, openid: str, person_id: str | None) -> EffectDone:
        person = self.digest(effect.args["id_number"])
        fresh = uuid.uuid4().hex
        windows = [self._wrong_guesses(openid, ""), self._lock(openid, person, ""),
                   Window("people_per_day", self.keys.user_limit("people", openid), person,
                          self.limits.people_per_day, DAY),
                   Window("codes_per_openid_hour", self.keys.user_limit("codes", openid), fresh,
                          self.limits.codes_per_openid_hour, HOUR)]
        if self.redis.get(self.keys.person_openid(person)) != openid.encode():
            # Counted per name and ID number together: a stranger who has only the number (any name
            # is a decoy) cannot use up the codes of the person, whose name matches.
            name = "".join(effect.args["name"].split())
            windows.append(Window("codes_per_person_hour", self.keys.person_limit("codes", person, name), fresh,
                                  self.limits.codes_per_person_hour, HOUR))
        self._check(*windows)
        done = run_effect(effect, self.binding, openid, person_id)
        if done.ok:
            challenge_id = done.value["challenge_id"]
        elif done.error in UNMATCHED or done.error == "verification_locked":
            # A decoy, never sent. The bureau's own lock is answered so too: it exists only for a
            # real pair, so saying it would tell one from a decoy. Its codes fail and lock as ours.
            challenge_id = "C" + secrets.token_hex(8)
        else:
            return done
        self._remember(challenge_id, openid, person, sent=done.ok)
        expires = datetime.fromtimestamp(self.clock() + CHALLENGE_TTL, UTC).isoformat()
        # No phone hint before the code is right: it would tell a matched pair from an unmatched one.
        return EffectDone(effect.name, ok=True, value={"challenge_id": challenge_id, "method": "sms",
                                                       "masked_phone": None, "url": None, "expires_at": expires})

    def _complete(self, effect: Effect, openid: str, person_id: str | None) -> EffectDone:
        self._check(self._wrong_guesses(openid, ""))
        key = self.keys.challenge(effect.args["challenge_id"])
        owner, sent, person = self.redis.hmget(key, "openid", "sent", "person")
        if owner is None or owner.decode() != openid:
            return EffectDone(effect.name, ok=False, error="verification_expired")   # a new code is sent
        person = person.decode()
        self._check(self._lock(openid, person, ""))
        tries = self.redis.hincrby(key, "tries", 1)
        done = run_effect(effect, self.binding, openid, person_id)   # a decoy's too: the bureau knows no such challenge
        if done.ok and sent == b"1":
            self.redis.delete(key)
            return done
        if not done.ok and done.error not in _A_WRONG_CODE:
            return done                                 # the bureau is unavailable: nothing was tried
        # A wrong code, whatever the bureau called it: counted, and said the same way for everyone.
        self._check(self._wrong_guesses(openid, uuid.uuid4().hex), self._lock(openid, person, uuid.uuid4().hex))
        for window in (self._wrong_guesses(openid, ""), self._lock(openid, person, "")):
            try:
                self._check(window)
            except Limited:
                self.redis.delete(key)
                raise
        if tries >= self.limits.attempts_per_code:
            self.redis.delete(key)    # this code is spent: the flow has a new one sent
            return EffectDone(effect.name, ok=False, error="verification_expired")
        return EffectDone(effect.name, ok=False, error="verification_code_wrong")

    def _remember(self, challenge_id: str, openid: str, person: str, sent: bool) -> None:
        key = self.keys.challenge(challenge_id)
        self.redis.hset(key, mapping={"openid": openid, "person": person, "sent": int(sent), "tries": 0})
        self.redis.expire(key, CHALLENGE_TTL)

    def _lock(self, openid: str, person: str, member: str) -> Window:
        return Window("wrong_codes_before_lock", self.keys.user_limit("lock", openid, person), member,
                      self.limits.wrong_codes_before_lock, self.limits.lock_minutes * 60)

    # -- windows --------------------------------------------------------------------------------
    def _wrong_guesses(self, openid: str, member: str) -> Window:
        return Window("wrong_guesses_per_hour", self.keys.user_limit("wrong", openid), member,
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
        """Take every window, or none when one is full. Windows in one slot (a user's, a person's)
        are taken atomically; across slots (a cluster runs no script over two), the others are
        looked at first, then taken slot by slot: two requests racing for a window's last place
        can both have been counted in the first slot's — a count too many, never too few."""
        slots: dict[str, list[Window]] = {}
        for window in windows:
            slots.setdefault(hash_tag(window.key), []).append(window)
        groups = list(slots.values())
        for group in groups[1:]:
            self._take_slot(group, take=False)
        for group in groups:
            self._take_slot(group, take=True)

    def _take_slot(self, windows: list[Window], take: bool) -> None:
        index, pttl = self._take(keys=[w.key for w in windows],
                                 args=["1" if take else "0",
                                       *(value for w in windows for value in (w.member, w.limit, w.seconds))])
        if index:
            window = windows[index - 1]
            raise Limited(window, pttl / 1000 if pttl > 0 else window.seconds)

    def _refused(self, effect: Effect, openid: str, limited: Limited) -> EffectDone:
        log.warning("limit_reached", limit=limited.window.name, effect=effect.name, user_ref=user_ref(openid))
        metrics.limit_reached(limited.window.name)
        return EffectDone(effect.name, ok=False, error=TOO_MANY_ATTEMPTS,
                          value={"retry_after": round(limited.retry_after)})

