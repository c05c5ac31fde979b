"""Parse the plaintext message XML into an `Inbound` (handlers/inbound.py): the message plus its
delivery identity."""

from __future__ import annotations

import hashlib
import json
import re
from xml.parsers.expat import ExpatError

from wechatpy import parse_message

from bot.webhook.envelope import Rejected
from handlers.inbound import Inbound

_REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


def parse_inbound(xml: str) -> Inbound:
    try:
        message = parse_message(xml)
    except (ExpatError, ValueError, KeyError, AttributeError, IndexError, TypeError, UnicodeDecodeError):
        raise Rejected(400, "malformed message XML") from None
    data = getattr(message, "_data", None)
    if not isinstance(data, dict):
        raise Rejected(400, "empty message")
    for name in _REQUIRED:
        if not isinstance(data.get(name), str) or not data[name]:
            raise Rejected(400, f"missing {name}")
    if not re.fullmatch(r"[0-9]{1,12}", data["CreateTime"]):
        raise Rejected(400, "malformed CreateTime")
    msg_id = data.get("MsgId")
    if msg_id is not None and (not isinstance(msg_id, str) or not re.fullmatch(r"[0-9]{1,24}", msg_id)):
        raise Rejected(400, "malformed MsgId")

    openid, msg_type = data["FromUserName"], data["MsgType"].lower()
    event = data.get("Event") if isinstance(data.get("Event"), str) else ""
    event_key = data.get("EventKey") if isinstance(data.get("EventKey"), str) else ""
    if msg_id:
        delivery_id = f"msg|{openid}|{msg_id}"
    else:
        # Events carry no MsgId. WeChat's retries repeat an event exactly, and two events of one
        # kind in one second differ only in their content (the templates a subscription receipt
        # names): the content's digest keeps them apart.
        content = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode())
        delivery_id = f"evt|{openid}|{data['CreateTime']}|{msg_type}|{event}|{event_key}|{content.hexdigest()[:16]}"
    return Inbound(message=message, openid=openid, account=data["ToUserName"], msg_type=msg_type,
                   event=event.lower(), delivery_id=delivery_id)
