"""The access token, shared by every worker process through Redis.

WeChat invalidates tokens when they are fetched too often, so exactly one process refreshes at
a time (a Redis lock with a TTL) while the others wait and read the token it stored.
`stable_token` is used because it does not rotate the token on every call. Its force mode is
rationed by WeChat (20 a day, and calls under 30 s apart change nothing), so a rejected token is
first refreshed normally, and forced at most once per `FORCE_COOLDOWN` across all workers.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.store.keys import Keys

# (force_refresh) -> (access_token, expires_in seconds)
Fetch = Callable[[bool], tuple[str, int]]

_EARLY = 300  # refresh five minutes before WeChat's expiry
FORCE_COOLDOWN = 30


class TokenUnavailable(Exception):
    pass


class SharedAccessToken:
    def __init__(self, client: redis.Redis, keys: Keys, fetch: Fetch, *, lock_ttl: float = 15,
                 lock_wait: float = 10) -> None:
        self._redis = client
        self._key = keys.access_token()
        self._lock_key = keys.access_token_lock()
        self._cooldown_key = keys.access_token_lock() + ":force-cooldown"
        self._fetch = fetch
        self._lock_ttl, self._lock_wait = lock_ttl, lock_wait

    def get(self) -> str:
        token = self._redis.get(self._key)
        return token.decode() if token else self._refresh(rejected=None)

    def replace(self, rejected: str) -> str:
        """WeChat refused `rejected` (40001/42001): get a new one, unless another worker already did."""
        return self._refresh(rejected=rejected)

    def _refresh(self, rejected: str | None) -> str:
        lock = self._redis.lock(self._lock_key, timeout=self._lock_ttl,
                                blocking_timeout=self._lock_wait, sleep=0.02)
        if not lock.acquire():
            raise TokenUnavailable("timed out waiting for the token refresher")
        try:
            current = self._redis.get(self._key)
            if current and current.decode() != rejected:
                return current.decode()  # someone refreshed while we waited
            token, expires_in = self._fetch(False)
            if rejected is not None and token == rejected:
                # WeChat still hands out the token it refused: only a forced refresh replaces it.
                if not self._redis.set(self._cooldown_key, 1, nx=True, ex=FORCE_COOLDOWN):
                    raise TokenUnavailable("the token was refused and was force-refreshed moments ago")
                token, expires_in = self._fetch(True)
            self._redis.set(self._key, token, ex=max(60, int(expires_in) - _EARLY))
            return token
        finally:
            lock.release()
