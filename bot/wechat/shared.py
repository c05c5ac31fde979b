"""A credential WeChat rations (the access token, the JS-SDK's jsapi_ticket), shared by every
process through Redis: read from its key; when missing or refused, exactly one process at a time
fetches a new one under a Redis lock with a TTL, while the others wait for the lock and then read
what it stored. bot/wechat/token.py and ticket.py say what each does around that."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

_EARLY = 300  # stored until five minutes before WeChat's expiry


class SharedCredential:
    def __init__(self, client: redis.Redis, key: str, lock_key: str, unavailable: type[Exception], *,
                 lock_ttl: float = 15, lock_wait: float = 10) -> None:
        self.redis = client
        self.key, self.lock_key = key, lock_key
        self._unavailable = unavailable
        self._lock_ttl, self._lock_wait = lock_ttl, lock_wait

    def read(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if value else None

    def store(self, value: str, expires_in: int) -> str:
        self.redis.set(self.key, value, ex=max(60, int(expires_in) - _EARLY))
        return value

    @contextmanager
    def refreshing(self) -> Iterator[None]:
        """Held by one process at a time; `unavailable` when the lock does not come in time."""
        lock = self.redis.lock(self.lock_key, timeout=self._lock_ttl, blocking_timeout=self._lock_wait, sleep=0.02)
        if not lock.acquire():
            raise self._unavailable(f"timed out waiting for the refresher of {self.key.rsplit(':', 1)[-1]}")
        try:
            yield
        finally:
            lock.release()
