"""What WeChat pushes to the account's webhook on its own, for the fake API: a subscription
pop-up's choices (subscribe_msg_popup_event) and each subscription notice's receipt
(subscribe_msg_sent_event), signed and — with an AES key — encrypted as WeChat's servers send them.
A fake without a webhook to push to (most tests') pushes nothing."""

from __future__ import annotations

import logging
import threading
import time

import requests

from bot.simulator.wechat_side import WeChatSide

log = logging.getLogger(__name__)


class Pushes:
    def __init__(self, webhook_url: str, side: WeChatSide) -> None:
        self.webhook_url = webhook_url.rstrip("/")
        self.side = side
        # WeChat tells events apart by sender and CreateTime: one user's pushes get a second each.
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def subscription_event(self, openid: str, event: str, items: list[dict[str, str]]) -> int:
        """Push one event now; the webhook's HTTP status (0 when it could not be reached)."""
        xml = self.side.subscription_event_xml(openid, event, items, self._event_time(openid))
        try:
            return self.side.post(self.webhook_url, self.side.deliver(xml, openid)).status_code
        except requests.RequestException as exc:
            log.warning("fake WeChat could not push %s: %s", event, type(exc).__name__)
            return 0

    def later(self, openid: str, event: str, items: list[dict[str, str]]) -> None:
        """Push it from another thread, as WeChat does after answering the call that caused it."""
        threading.Thread(target=self.subscription_event, args=(openid, event, items), daemon=True).start()

    def _event_time(self, openid: str) -> int:
        with self._lock:
            self._last[openid] = max(self._last.get(openid, 0) + 1, int(time.time()))
            return self._last[openid]
