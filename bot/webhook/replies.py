"""Render a handler's reply as WeChat reply XML that user text cannot break."""

from __future__ import annotations

import re

from wechatpy.replies import TextReply

from handlers.inbound import Inbound
from handlers.reply import NoReply, Reply, Text

# Characters XML 1.0 forbids; a reply containing one is rejected by WeChat's parser.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cdata_safe(text: str) -> str:
    """Text that can sit inside <![CDATA[...]]>: `]]>` is split across two CDATA sections,
    characters XML forbids are dropped, and line ends are normalised as XML parsers would."""
    text = _XML_ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("]]>", "]]]]><![CDATA[>")


def render(reply: Reply, inbound: Inbound) -> str:
    if isinstance(reply, NoReply):
        return "success"
    if isinstance(reply, Text):
        return TextReply(
            source=cdata_safe(inbound.account),
            target=cdata_safe(inbound.openid),
            content=cdata_safe(reply.content),
        ).render()
    raise TypeError(f"cannot render {type(reply).__name__}")
