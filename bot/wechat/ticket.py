"""The JS-SDK's jsapi_ticket, shared by every process through Redis, refreshed as the access
token is (bot/wechat/shared.py): WeChat rations `ticket/getticket` and a ticket lasts 7200 s, so
exactly one process fetches a new one at a time (a Redis lock with a TTL) while the others wait and
read what it stored. A fetch is one call (its access token retried once by the client,
bot/wechat/client.py); one that fails fails the page that asked, and for `FAILURE_PAUSE` seconds
every other page fails at once too: the page is served by the webhook's request threads, which
must not queue behind a WeChat that does not answer."""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.store.keys import Keys
from bot.wechat.shared import SharedCredential

# () -> (ticket, expires_in seconds)
Fetch = Callable[[], tuple[str, int]]

FAILURE_PAUSE = 10


class TicketUnavailable(Exception):
    pass


class SharedJsapiTicket:
    def __init__(self, client: redis.Redis, keys: Keys, fetch: Fetch, *, lock_ttl: float = 15,
                 lock_wait: float = 10) -> None:
        self._shared = SharedCredential(client, keys.jsapi_ticket(), keys.jsapi_ticket_lock(), TicketUnavailable,
                                        lock_ttl=lock_ttl, lock_wait=lock_wait)
        self._paused_key = keys.jsapi_ticket_lock() + ":paused"
        self._fetch = fetch

    def get(self) -> str:
        ticket = self._shared.read()
        if ticket:
            return ticket
        if self._shared.redis.exists(self._paused_key):
            raise TicketUnavailable("a fetch failed moments ago")
        return self._refresh()

    def _refresh(self) -> str:
        with self._shared.refreshing():
            current = self._shared.read()
            if current:
                return current   # someone fetched it while we waited
            if self._shared.redis.exists(self._paused_key):
                raise TicketUnavailable("the fetch we waited for failed")
            try:
                ticket, expires_in = self._fetch()
            except Exception:
                self._shared.redis.set(self._paused_key, 1, ex=FAILURE_PAUSE)
                raise
            return self._shared.store(ticket, expires_in)
