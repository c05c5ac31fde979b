"""The sandbox bureau's state, in its own Redis namespace (`<prefix>:sandbox:…`).

SandboxStore holds the namespace, the JSON records, the bureau's lock and the nonces of signed
requests. Each kind of thing the bureau keeps has a small class named for it, with methods named
for what the bureau does with it, so that the rules (service.py) never see a key or a Redis call.
The key layout is unchanged: tests, the outbox and `wxbot sandbox` read the same keys.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import redis
from redis.lock import Lock

Role = Literal["initiator", "member"]


class SandboxStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = f"{prefix}:sandbox"
        self.verifications = Verifications(self)
        self.applications = Applications(self)
        self.reviews = Reviews(self)
        self.bindings = Bindings(self)
        self.deduction_orders = DeductionOrders(self)
        self.usage = UsageLog(self)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def get(self, *parts: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.key(*parts))
        return json.loads(raw) if raw else None

    def put(self, record: dict[str, Any], *parts: str, ttl: int | None = None) -> None:
        self.redis.set(self.key(*parts), json.dumps(record, ensure_ascii=False), ex=ttl)

    def lock(self) -> Lock:
        """One writer at a time: the sandbox favours obvious correctness over throughput."""
        return self.redis.lock(self.key("lock"), timeout=10, blocking_timeout=10, sleep=0.01)

    def spend_nonce(self, nonce: str, ttl: int) -> bool:
        """False when a signed request already came with this nonce in the last `ttl` seconds."""
        return bool(self.redis.set(self.key("nonce", nonce), 1, nx=True, ex=ttl))


class _Records:
    """One kind of the bureau's records, in the store's namespace."""

    def __init__(self, store: SandboxStore) -> None:
        self._store, self._redis, self._key = store, store.redis, store.key


class Verifications(_Records):
    """Challenges (the code sent and the attempts at it), the codes the desk shows, wrong codes
    counted per person and openid, and everyone ever verified."""

    CODES_KEPT = 50

    def save_challenge(self, challenge_id: str, challenge: dict[str, Any], ttl: int) -> None:
        self._store.put(challenge, "challenge", challenge_id, ttl=ttl)

    def challenge(self, challenge_id: str) -> dict[str, Any] | None:
        return self._store.get("challenge", challenge_id)

    def drop_challenge(self, challenge_id: str) -> None:
        self._redis.delete(self._key("challenge", challenge_id))

    def remember_code(self, challenge_id: str, code: str, at: float) -> None:
        """The sandbox's "SMS": kept for the desk to show, the newest first; no phone gets it."""
        self._redis.lpush(self._key("sms"), f"{challenge_id}:{code}:{int(at)}")
        self._redis.ltrim(self._key("sms"), 0, self.CODES_KEPT - 1)

    def recent_codes(self, count: int = 10) -> list[tuple[str, str]]:
        """(challenge id, code) of the latest codes sent, the newest first."""
        return [tuple(raw.decode().split(":")[:2]) for raw in self._redis.lrange(self._key("sms"), 0, count - 1)]

    def failures(self, person_id: str, openid: str) -> int:
        return int(self._redis.get(self._key("failures", person_id, openid)) or 0)

    def count_failure(self, person_id: str, openid: str, window: int) -> int:
        """One more wrong code; the count lasts `window` seconds from the first. Returns it."""
        key = self._key("failures", person_id, openid)
        failures = self._redis.incr(key)
        if failures == 1:
            self._redis.expire(key, window)
        return failures

    def mark_verified(self, person_id: str) -> None:
        self._redis.sadd(self._key("verified"), person_id)

    def is_verified(self, person_id: str) -> bool:
        return bool(self._redis.sismember(self._key("verified"), person_id))


class Applications(_Records):
    """Application records; the answer each idempotency key got; each initiator's applications, the
    newest first; the (initiator, member) pairs with one still open; consent codes."""

    def get(self, application_id: str) -> dict[str, Any] | None:
        return self._store.get("application", application_id)

    def save(self, record: dict[str, Any]) -> None:
        self._store.put(record, "application", record["id"])

    def answer_to(self, idempotency_key: str) -> dict[str, Any] | None:
        return self._store.get("idempotency", idempotency_key)

    def remember_answer(self, idempotency_key: str, answer: dict[str, Any], ttl: int) -> None:
        self._store.put(answer, "idempotency", idempotency_key, ttl=ttl)

    def open(self, record: dict[str, Any]) -> None:
        """A new application: open for its pair until decided, first in its initiator's list."""
        self._redis.sadd(self._key("open", record["initiator_id"]), record["member_id"])
        self._redis.lpush(self._key("applications", record["initiator_id"]), record["id"])

    def is_open(self, initiator_id: str, member_id: str) -> bool:
        return bool(self._redis.sismember(self._key("open", initiator_id), member_id))

    def close(self, record: dict[str, Any]) -> None:
        """Decided: its pair may apply again (it stays in its initiator's list)."""
        self._redis.srem(self._key("open", record["initiator_id"]), record["member_id"])

    def of(self, initiator_id: str, limit: int) -> list[str]:
        """The ids of an initiator's latest `limit` applications, the newest first."""
        return [raw.decode() for raw in self._redis.lrange(self._key("applications", initiator_id), 0, limit - 1)]

    def give_consent_code(self, code: str, application_id: str, ttl: int) -> None:
        self._redis.set(self._key("consent", code), application_id, ex=ttl)

    def by_consent_code(self, code: str) -> dict[str, Any] | None:
        application_id = self._redis.get(self._key("consent", code))
        return self.get(application_id.decode()) if application_id else None


class Reviews(_Records):
    """Applications waiting for a reviewer, and when the delayed review decides each."""

    def wait(self, application_id: str) -> None:
        self._redis.sadd(self._key("under_review"), application_id)

    def waiting(self) -> list[str]:
        return sorted(raw.decode() for raw in self._redis.smembers(self._key("under_review")))

    def done(self, application_id: str) -> None:
        self._redis.srem(self._key("under_review"), application_id)

    def schedule(self, application_id: str, at: float) -> None:
        self._redis.zadd(self._key("due"), {application_id: at})

    def due(self, now: float) -> list[str]:
        return [raw.decode() for raw in self._redis.zrangebyscore(self._key("due"), "-inf", now)]

    def claim(self, application_id: str) -> bool:
        """False when another desk took it first: with several desks, exactly one decides it."""
        return bool(self._redis.zrem(self._key("due"), application_id))


class Bindings(_Records):
    """Binding records, and each person's bindings as initiator and as member."""

    def get(self, binding_id: str) -> dict[str, Any] | None:
        return self._store.get("binding", binding_id)

    def save(self, binding: dict[str, Any]) -> None:
        self._store.put(binding, "binding", binding["id"])

    def add(self, binding: dict[str, Any]) -> None:
        """A new binding: saved, and listed for both of its people."""
        self.save(binding)
        self._redis.sadd(self._key("bindings", "initiator", binding["initiator_id"]), binding["id"])
        self._redis.sadd(self._key("bindings", "member", binding["member_id"]), binding["id"])

    def of(self, person_id: str, role: Role) -> list[str]:
        """The ids of every binding, active or not, in which this person has this role."""
        return [raw.decode() for raw in self._redis.smembers(self._key("bindings", role, person_id))]


class DeductionOrders(_Records):
    """Each member's deduction order: the ids of their active bindings, the first pays first."""

    def of(self, member_id: str) -> list[str]:
        return [raw.decode() for raw in self._redis.lrange(self._key("order", member_id), 0, -1)]

    def append(self, member_id: str, binding_id: str) -> None:
        self._redis.rpush(self._key("order", member_id), binding_id)

    def replace(self, member_id: str, binding_ids: list[str]) -> None:
        self._redis.delete(self._key("order", member_id))
        self._redis.rpush(self._key("order", member_id), *binding_ids)

    def remove(self, member_id: str, binding_id: str) -> None:
        self._redis.lrem(self._key("order", member_id), 0, binding_id)


class UsageLog(_Records):
    """What members spent from each initiator's account, oldest first."""

    def record(self, initiator_id: str, entry: dict[str, Any]) -> None:
        self._redis.rpush(self._key("usage", initiator_id), json.dumps(entry))

    def of(self, initiator_id: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self._redis.lrange(self._key("usage", initiator_id), 0, -1)]
