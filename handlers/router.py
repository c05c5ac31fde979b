"""Route one inbound message or event to its answer.

The minimal set of the foundation: follow → welcome; text → help; other messages → a polite
note; events the user did not address to us → acknowledged silently.
"""

from __future__ import annotations

from bot.webhook.inbound import Inbound
from flows import texts
from handlers.reply import NoReply, Reply, Text

# Events that are notifications to the account, not something the user expects an answer to.
_SILENT_EVENTS = frozenset({
    "unsubscribe", "view", "view_miniprogram", "location", "templatesendjobfinish",
    "masssendjobfinish", "subscribe_msg_popup_event", "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
})


def route(inbound: Inbound) -> Reply:
    if inbound.msg_type == "event":
        if inbound.event in ("subscribe", "subscribe_scan", "scan"):
            return Text(texts.WELCOME)
        if inbound.event in _SILENT_EVENTS:
            return NoReply()
        return Text(texts.HELP)
    if inbound.msg_type == "text":
        return Text(texts.HELP)
    return Text(texts.UNSUPPORTED_MESSAGE)
