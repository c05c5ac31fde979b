"""JSON records in the sandbox's own Redis namespace."""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.lock import Lock


class SandboxStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = f"{prefix}:sandbox"

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
