"""No text a user can type — or an attacker can put in a plaintext delivery — breaks a reply."""

from __future__ import annotations

import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy import parse_message

from bot.webhook.replies import cdata_safe, render
from handlers.inbound import Inbound
from handlers.reply import NoReply, Text

CDATA_BREAKERS = st.sampled_from(["]]>", "]]]]>", "<![CDATA[", "</Content>", "</xml>", "&amp;", "\x00", "\x1b"])
TEXT = st.lists(st.one_of(st.text(), CDATA_BREAKERS), max_size=8).map("".join)


def inbound(openid: str, account: str) -> Inbound:
    message = parse_message("<xml><MsgType>text</MsgType></xml>")
    return Inbound(message=message, openid=openid, account=account, msg_type="text", event="", delivery_id="x")


@settings(max_examples=200, deadline=None)
@given(content=TEXT, openid=TEXT, account=TEXT)
def test_rendered_reply_parses_back_to_exactly_what_was_said(content: str, openid: str, account: str) -> None:
    xml = render(Text(content), inbound(openid, account))
    data = xmltodict.parse(xml, strip_whitespace=False)["xml"]
    assert data["MsgType"] == "text"
    assert (data.get("Content") or "") == clean(content)
    assert (data.get("ToUserName") or "") == clean(openid)
    assert (data.get("FromUserName") or "") == clean(account)
    assert {key for key in data if not key.startswith("#")} == {"MsgType", "Content", "ToUserName", "FromUserName", "CreateTime"}


def clean(text: str) -> str:
    """What survives: the text less the characters XML 1.0 cannot carry, line ends as \\n."""
    return "".join(ch for ch in text.replace("\r\n", "\n").replace("\r", "\n")
                   if ch in "\t\n" or (ch >= " " and ch not in "\ufffe\uffff"))


def test_cdata_terminator_is_split_not_dropped() -> None:
    assert cdata_safe("a]]>b") == "a]]]]><![CDATA[>b"


def test_no_reply_is_success() -> None:
    assert render(NoReply(), inbound("o", "gh")) == "success"
