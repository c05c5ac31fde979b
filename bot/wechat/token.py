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
from bot.wechat.shared import SharedCredential

# (force_refresh) -> (access_token, expires_in seconds)
Fetch = Callable[[bool], tuple[str, int]]

FORCE_COOLDOWN = 30


class TokenUnavailable(Exception):
    pass


class SharedAccessToken:
    def __init__(self, client: redis.Redis, keys: Keys, fetch: Fetch, *, lock_ttl: float = 15,
                 lock_wait: float = 10) -> None:
        self._shared = SharedCredential(client, keys.access_token(), keys.access_token_lock(), TokenUnavailable,
                                        lock_ttl=lock_ttl, lock_wait=lock_wait)
        self._cooldown_key = keys.access_token_lock() + ":force-cooldown"
        self._fetch = fetch

    def get(self) -> str:
        return self._shared.read() or self._refresh(rejected=None)

    def replace(self, rejected: str) -> str:
        """WeChat refused `rejected` (40001/42001): get a new one, unless another worker already did."""
        return self._refresh(rejected=rejected)

    def _refresh(self, rejected: str | None) -> str:
        with self._shared.refreshing():
            current = self._shared.read()
            if current and current != rejected:
                return current  # someone refreshed while we waited
            token, expires_in = self._fetch(False)
            if rejected is not None and token == rejected:
                # WeChat still hands out the token it refused: only a forced refresh replaces it.
                if not self._shared.redis.set(self._cooldown_key, 1, nx=True, ex=FORCE_COOLDOWN):
                    raise TokenUnavailable("the token was refused and was force-refreshed moments ago")
                token, expires_in = self._fetch(True)
            return self._shared.store(token, expires_in)
