"""WeChat's side for several simulated users: what their phones send (texts, photos, menu clicks,
follows) goes to the real /wechat endpoint, signed and — with an AES key — encrypted, exactly as
WeChat's servers deliver it; their choices in WeChat's subscription pop-up go to the fake WeChat
API, which pushes them to the webhook as WeChat does; what the account sends them later
(customer-service messages, template cards, subscription notices) is read from the fake WeChat
API, which is where the product sent it.

The browser simulator and `wxbot chat` are both thin faces over this class.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from bot.config import Settings
from bot.simulator.wechat_side import WeChatSide

# What a template keyword shows as, by the value the settings fill it with.
VALUE_LABELS = {"member": "家庭成员", "relationship": "关系", "result": "办理结果", "reason": "原因",
                "decided_at": "办理时间", "application": "申请编号"}


class Phone:
    def __init__(self, settings: Settings, webhook_url: str, fake_api_url: str) -> None:
        self.settings = settings
        self.webhook_url = webhook_url.rstrip("/")
        self.fake_api_url = fake_api_url.rstrip("/")
        self.side = WeChatSide(settings.wechat, fake_api=self.fake_api_url)
        # WeChat tells events apart by sender and CreateTime: two clicks must not share a second.
        self._last_event, self._event_lock = 0, threading.Lock()
        kinds = settings.notifications.kinds().values()
        self._templates = {t.template_id: (t.title, t.fields) for t in kinds}
        self._notices = {kind.subscription.template_id: kind.subscription for kind in kinds if kind.subscription}

    # -- what the user does ---------------------------------------------------------------------
    def text(self, openid: str, content: str) -> list[dict[str, Any]]:
        return self._deliver(openid, self.side.text_xml(openid, content))

    def voice(self, openid: str, recognition: str) -> list[dict[str, Any]]:
        """A voice message, with the words WeChat's speech recognition heard ('' for none)."""
        return self._deliver(openid, self.side.voice_xml(openid, recognition))

    def click(self, openid: str, key: str) -> list[dict[str, Any]]:
        return self._deliver(openid, self.side.event_xml(openid, "CLICK", key=key, create_time=self._event_time()))

    def follow(self, openid: str) -> list[dict[str, Any]]:
        return self._deliver(openid, self.side.event_xml(openid, "subscribe", create_time=self._event_time()))

    def image(self, openid: str, content: bytes) -> list[dict[str, Any]]:
        """A photo: WeChat keeps the file (here the fake API does) and delivers its media id."""
        response = requests.post(f"{self.fake_api_url}/fake/media", data=content, timeout=10)
        response.raise_for_status()
        media_id = response.json()["media_id"]
        return self._deliver(openid, self.side.image_xml(openid, media_id,
                                                         f"{self.fake_api_url}/cgi-bin/media/get?media_id={media_id}"))

    def subscribe(self, openid: str, accept: list[str], reject: list[str]) -> dict[str, Any]:
        """The user's choices in WeChat's subscription pop-up: the fake WeChat API records them and
        pushes them to the webhook, as WeChat does."""
        long_term = [template_id for template_id in accept + reject
                     if template_id in self._notices and self._notices[template_id].long_term]
        response = requests.post(f"{self.fake_api_url}/fake/subscribe_popup", timeout=10, json={
            "openid": openid, "accept": accept, "reject": reject, "long_term": long_term})
        response.raise_for_status()
        return response.json()

    def notices(self) -> list[dict[str, Any]]:
        """The subscription notices the settings name, for the pop-up: id, title, long-term or not."""
        return [{"template_id": template_id, "title": notice.title, "long_term": notice.long_term}
                for template_id, notice in self._notices.items()]

    # -- what the account sends later -------------------------------------------------------------
    def inbox(self, openid: str, after: float = 0.0) -> list[dict[str, Any]]:
        """Messages the account sent this user through WeChat's API since `after` (a timestamp)."""
        sent = requests.get(f"{self.fake_api_url}/fake/sent", timeout=5).json()
        return [self._shown(message) for message in sent
                if message.get("touser") == openid and message["at"] > after]

    def menu(self) -> list[dict[str, Any]]:
        return self.settings.menu.to_wechat()["button"]

    # -- internals ----------------------------------------------------------------------------------
    def _deliver(self, openid: str, xml: str) -> list[dict[str, Any]]:
        response = self.side.post(self.webhook_url, self.side.deliver(xml, openid))
        if response.status_code != 200:
            return [{"type": "error", "text": f"HTTP {response.status_code}: {response.text[:200]}"}]
        reply = self.side.open_reply(response.text)
        if not reply:
            return []   # `success`: WeChat shows nothing
        if reply.get("MsgType") == "text":
            return [{"type": "text", "text": reply.get("Content", "")}]
        return [{"type": reply.get("MsgType", "unknown"), "text": ""}]

    def _event_time(self) -> int:
        with self._event_lock:
            self._last_event = max(self._last_event + 1, int(time.time()))
            return self._last_event

    def _shown(self, message: dict[str, Any]) -> dict[str, Any]:
        at = message["at"]
        if message["kind"] in ("template", "subscription"):
            if message["kind"] == "subscription" and message["template_id"] in self._notices:
                notice = self._notices[message["template_id"]]
                title, fields = notice.title, notice.fields
            else:
                title, fields = self._templates.get(message["template_id"], (message["template_id"], {}))
            data = message.get("data", {})
            # In the template's own order (the settings'), as WeChat shows it.
            order = [k for k in fields if k in data] + [k for k in data if k not in fields]
            rows = [{"label": VALUE_LABELS.get(fields.get(keyword, ""), keyword), "value": data[keyword]["value"]}
                    for keyword in order]
            return {"type": "template", "channel": message["kind"], "at": at, "title": title, "rows": rows,
                    "url": message.get("url") or message.get("page") or ""}
        if message.get("msgtype") == "text":
            return {"type": "text", "at": at, "text": message["text"]["content"]}
        return {"type": message.get("msgtype", "unknown"), "at": at, "text": ""}
