"""Every class of bad request gets its status code — never a 500, never a reply."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.app import create_app
from bot.simulator.wechat_side import Delivery, WeChatSide
from bot.webhook.signing import wechat_signature
from tests.conftest import TOKEN
from tests.support.webhook import Webhook

XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<xml><Content>&lol5;</Content></xml>"""


def message(**fields: str) -> bytes:
    base = {"ToUserName": "gh_a", "FromUserName": "o_user", "CreateTime": str(int(time.time())),
            "MsgType": "text", "Content": "hi", "MsgId": "1"}
    base.update(fields)
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in base.items() if v is not None)
    return f"<xml>{inner}</xml>".encode()


PLAINTEXT_BODIES = {
    "not xml": (b"hello, server", 400),
    "empty body": (b"", 400),
    "truncated xml": (message()[:40], 400),
    "XXE": (XXE, 400),
    "entity bomb": (BILLION_LAUGHS, 400),
    "wrong root": (b"<root><MsgType>text</MsgType></root>", 400),
    "empty xml": (b"<xml></xml>", 400),
    "missing FromUserName": (message(FromUserName=None), 400),
    "missing MsgType": (message(MsgType=None), 400),
    "missing CreateTime": (message(CreateTime=None), 400),
    "CreateTime not a number": (message(CreateTime="yesterday"), 400),
    "MsgId not a number": (message(MsgId="abc"), 400),
    "nested MsgType": (message(MsgType="<a>text</a>"), 400),
    "not UTF-8": ("<xml><Content>中文</Content></xml>".encode("gbk"), 400),
    "body over 64 KiB": (message(Content="x" * 70_000), 413),
}


@pytest.fixture
def plain(make_settings, redis_client) -> Webhook:
    settings = make_settings()
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


@pytest.fixture
def safe(make_settings, redis_client) -> Webhook:
    settings = make_settings(aes=True)
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


def signed_query(timestamp: int | None = None, **extra: str) -> str:
    ts, nonce = str(timestamp or int(time.time())), "abc123"
    return urlencode({"signature": wechat_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, **extra})


@pytest.mark.parametrize("case", sorted(PLAINTEXT_BODIES))
def test_malformed_plaintext_body(plain: Webhook, case: str) -> None:
    body, status = PLAINTEXT_BODIES[case]
    response = plain.post(Delivery(signed_query(), body))
    assert response.status_code == status
    assert "<xml" not in response.text


@pytest.mark.parametrize("case, query, status", [
    ("no signature", "timestamp={now}&nonce=n", 403),
    ("wrong signature", "signature=" + "0" * 40 + "&timestamp={now}&nonce=n", 403),
    ("no timestamp", "signature=x&nonce=n", 400),
    ("timestamp not a number", "signature=x&timestamp=soon&nonce=n", 400),
    ("no nonce", "signature=x&timestamp={now}", 400),
    ("timestamp an hour old", None, 403),
    ("timestamp in superscript digits", "signature=x&timestamp=²&nonce=n", 400),
    ("CreateTime fine, MsgId in full-width digits", None, 400),
])
def test_bad_query(plain: Webhook, case: str, query: str | None, status: int) -> None:
    body = message()
    if case.startswith("CreateTime fine"):
        query, body = signed_query(), message(MsgId="１２３")
    query = (query or signed_query(int(time.time()) - 3600)).format(now=int(time.time()))
    assert plain.post(Delivery(query, body)).status_code == status


def test_url_check_with_superscript_timestamp_is_400(plain: Webhook) -> None:
    assert plain.app.test_client().get("/wechat?signature=x&timestamp=²&nonce=n&echostr=e").status_code == 400


def test_safe_mode_bad_ciphertext_is_400(safe: Webhook) -> None:
    good = safe.side.deliver(safe.side.text_xml("o_user", "hi"), "o_user")
    args = dict(parse_qsl(good.query))
    garbage = "AAAA" * 30
    args["msg_signature"] = wechat_signature(TOKEN, args["timestamp"], args["nonce"], garbage)
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>".encode()
    assert safe.post(Delivery(urlencode(args), body)).status_code == 400


def test_safe_mode_missing_encrypt_is_400(safe: Webhook) -> None:
    query = signed_query(encrypt_type="aes", msg_signature="0" * 40)
    assert safe.post(Delivery(query, b"<xml><ToUserName>gh</ToUserName></xml>")).status_code == 400


def test_safe_mode_ciphertext_for_another_appid_is_400(safe: Webhook, make_settings) -> None:
    other = WeChatSide(make_settings(aes=True, wechat={"appid": "wx_someone_else"}).wechat)
    delivery = other.deliver(other.text_xml("o_user", "hi"), "o_user")
    assert safe.post(delivery).status_code == 400


def test_safe_mode_tampered_ciphertext_is_403(safe: Webhook) -> None:
    good = safe.side.deliver(safe.side.text_xml("o_user", "hi"), "o_user")
    tampered = good.body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    assert safe.post(Delivery(good.query, tampered)).status_code == 403
