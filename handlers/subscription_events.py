"""WeChat's events about the subscription notices (订阅通知), read from their XML — wechatpy knows
them not and parses them as unknown events: the pop-up's choices (subscribe_msg_popup_event), a
notice refused in its settings (subscribe_msg_change_event), and the receipt of each send
(subscribe_msg_sent_event). Recorded through the `Subscriptions` port; nothing is answered."""

from __future__ import annotations

from handlers.inbound import Inbound
from handlers.ports import Subscriptions

POPUP, CHANGE, SENT = "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"
# Each event's element holding its <List> items.
CONTAINERS = {POPUP: "SubscribeMsgPopupEvent", CHANGE: "SubscribeMsgChangeEvent", SENT: "SubscribeMsgSentEvent"}
EVENTS = frozenset(CONTAINERS)


def items(inbound: Inbound) -> list[dict[str, str]]:
    """The event's templates. WeChat's own example of the change event wraps its list in
    SubscribeMsgPopupEvent: the event's element is read first, then any of the three."""
    for container in (CONTAINERS[inbound.event], *CONTAINERS.values()):
        found = inbound.entries(container)
        if found:
            return found
    return []


def record(inbound: Inbound, subscriptions: Subscriptions) -> None:
    listed = items(inbound)
    if inbound.event == SENT:
        subscriptions.sent(inbound.openid, {item["TemplateId"]: item.get("ErrorStatus", "").strip()
                                            for item in listed if item.get("TemplateId")})
        return
    choices = {item["TemplateId"]: item.get("SubscribeStatusString", "").strip().lower()
               for item in listed if item.get("TemplateId")}
    if inbound.event == POPUP:
        subscriptions.popup(inbound.openid, choices)
    else:
        subscriptions.changed(inbound.openid, choices)
