"""The JS-SDK's jsapi_ticket, shared by every process through Redis, refreshed as the access
token is (bot/wechat/token.py): WeChat rations `ticket/getticket` and a ticket lasts 7200 s, so
exactly one process fetches a new one at a time (a Redis lock with a TTL) while the others wait and
read what it stored. A fetch is one call (its access token retried once by the client,
bot/wechat/client.py); one that fails fails the page that asked, and for `FAILURE_PAUSE` seconds
every other page fails at once too: the page is served by the webhook's request threads, which
must not queue behind a WeChat that does not answer."""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.store.keys import Keys

# () -> (ticket, expires_in seconds)
Fetch = Callable[[], tuple[str, int]]

_EARLY = 300  # refresh five minutes before WeChat's expiry
FAILURE_PAUSE = 10


class TicketUnavailable(Exception):
    pass


class SharedJsapiTicket:
    def __init__(self, client: redis.Redis, keys: Keys, fetch: Fetch, *, lock_ttl: float = 15,
                 lock_wait: float = 10) -> None:
        self._redis = client
        self._key, self._lock_key = keys.jsapi_ticket(), keys.jsapi_ticket_lock()
        self._paused_key = keys.jsapi_ticket_lock() + ":paused"
        self._fetch = fetch
        self._lock_ttl, self._lock_wait = lock_ttl, lock_wait

    def get(self) -> str:
        ticket = self._redis.get(self._key)
        if ticket:
            return ticket.decode()
        if self._redis.exists(self._paused_key):
            raise TicketUnavailable("a fetch failed moments ago")
        return self._refresh()

    def _refresh(self) -> str:
        lock = self._redis.lock(self._lock_key, timeout=self._lock_ttl, blocking_timeout=self._lock_wait, sleep=0.02)
        if not lock.acquire():
            raise TicketUnavailable("timed out waiting for the ticket refresher")
        try:
            current = self._redis.get(self._key)
            if current:
                return current.decode()   # someone fetched it while we waited
            if self._redis.exists(self._paused_key):
                raise TicketUnavailable("the fetch we waited for failed")
            try:
                ticket, expires_in = self._fetch()
            except Exception:
                self._redis.set(self._paused_key, 1, ex=FAILURE_PAUSE)
                raise
            self._redis.set(self._key, ticket, ex=max(60, int(expires_in) - _EARLY))
            return ticket
        finally:
            lock.release()
