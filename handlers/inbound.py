"""One message or event as the handlers see it: wechatpy's parsed message and who sent it, with
the identity its delivery is known by (bot/webhook/inbound.py parses it from WeChat's XML)."""

from __future__ import annotations

from dataclasses import dataclass

from wechatpy.messages import BaseMessage


@dataclass(frozen=True)
class Inbound:
    message: BaseMessage
    openid: str
    account: str
    msg_type: str
    event: str
    delivery_id: str

    def field(self, name: str) -> str:
        """A top-level field as text ('' when absent or not text)."""
        value = self.message._data.get(name)  # wechatpy keeps every field there, known or not
        return value if isinstance(value, str) else ""

    def entries(self, container: str) -> list[dict[str, str]]:
        """The <List> items of a top-level element, each as its text fields — how WeChat's
        subscription events list their templates. The XML's one item is a dict, several a list."""
        outer = self.message._data.get(container)
        items = outer.get("List") if isinstance(outer, dict) else None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            return []
        return [{name: value for name, value in item.items() if isinstance(value, str)}
                for item in items if isinstance(item, dict)]
