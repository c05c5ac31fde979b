"""The /wechat endpoint end to end (Flask test client, real Redis), in plaintext and safe mode."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlencode

import pytest
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES

from bot.app import create_app
from bot.menu import DEFAULT_MENU
from bot.simulator.wechat_side import WeChatSide
from bot.webhook.signing import wechat_signature
from flows import texts
from handlers.reply import Text
from handlers.router import welcome
from tests.conftest import TOKEN
from tests.support.chat import idle_answer
from tests.support.webhook import Webhook


@pytest.fixture
def webhook(make_settings, wechat_side, aes, redis_client) -> Webhook:
    return Webhook(create_app(make_settings(aes=aes)), wechat_side)


class CountingRoute:
    """A handler counting how often it runs (i.e. how often a delivery is processed)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, inbound, session):
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return Text(texts.HELP)


def test_url_verification_echoes_echostr(webhook: Webhook) -> None:
    ts = str(int(time.time()))
    query = urlencode({"signature": wechat_signature(TOKEN, ts, "n1"), "timestamp": ts, "nonce": "n1",
                       "echostr": "7071412918392"})
    response = webhook.app.test_client().get(f"/wechat?{query}")
    assert response.status_code == 200
    assert response.text == "7071412918392"


def test_a_url_check_signature_never_authorises_a_delivery_nor_a_second_check(webhook: Webhook, aes: bool) -> None:
    """A URL-verification GET's signature, timestamp and nonce reused on a POST carrying another
    user's message (plaintext mode: the signature does not cover the body) is refused; so is the
    same GET again."""
    ts = str(int(time.time()))
    signed = {"signature": wechat_signature(TOKEN, ts, "n-check"), "timestamp": ts, "nonce": "n-check"}
    client = webhook.app.test_client()
    assert client.get(f"/wechat?{urlencode({**signed, 'echostr': 'e1'})}").status_code == 200
    assert client.get(f"/wechat?{urlencode({**signed, 'echostr': 'e2'})}").status_code == 403
    body = webhook.side.text_xml("o_victim", "共济记录").encode()
    posted = client.post(f"/wechat?{urlencode({**signed, 'openid': 'o_victim'})}", data=body,
                         headers={"Content-Type": "text/xml"})
    assert posted.status_code == 403 and "共济" not in posted.text


def test_url_verification_with_a_bad_signature_is_403(webhook: Webhook) -> None:
    ts = str(int(time.time()))
    query = urlencode({"signature": "f" * 40, "timestamp": ts, "nonce": "n1", "echostr": "x"})
    assert webhook.app.test_client().get(f"/wechat?{query}").status_code == 403


def test_any_text_gets_the_help_text(webhook: Webhook) -> None:
    reply = webhook.say("在吗")
    assert reply["MsgType"] == "text"
    assert reply["Content"] == idle_answer("在吗")
    assert reply["ToUserName"] == "o_user"


def test_safe_mode_reply_is_encrypted_on_the_wire(webhook: Webhook, aes: bool) -> None:
    response = webhook.send(webhook.side.text_xml("o_user", "你好"))
    assert ("<Encrypt>" in response.text) is aes
    assert ("医保" in response.text) is not aes


def test_follow_gets_the_welcome(webhook: Webhook) -> None:
    response = webhook.send(webhook.side.event_xml("o_new", "subscribe"), "o_new")
    welcomed = webhook.side.open_reply(response.text)["Content"]
    assert welcomed == welcome(DEFAULT_MENU)
    assert "· 家庭共济：绑定家人、我的家人、解除绑定、扣款顺序" in welcomed and "· 查询：办理进度、共济记录" in welcomed


def test_unfollow_is_acknowledged_with_success(webhook: Webhook) -> None:
    response = webhook.send(webhook.side.event_xml("o_gone", "unsubscribe"), "o_gone")
    assert response.status_code == 200
    assert response.text == "success"


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_every_message_type_wechatpy_knows_is_answered(webhook: Webhook, msg_type: str) -> None:
    xml = webhook.side._xml("o_user", msg_type, None, "<MsgId>42</MsgId><MediaId><![CDATA[m]]></MediaId>")
    response = webhook.send(xml)
    assert response.status_code == 200
    assert webhook.side.open_reply(response.text)["MsgType"] == "text"


@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_every_event_type_wechatpy_knows_is_accepted(webhook: Webhook, event: str) -> None:
    response = webhook.send(webhook.side.event_xml("o_user", event, key="k1"))
    assert response.status_code == 200
    assert response.text == "success" or webhook.side.open_reply(response.text)["MsgType"] == "text"


def test_unknown_message_type_gets_a_polite_default(webhook: Webhook) -> None:
    xml = webhook.side._xml("o_user", "hologram", None, "<MsgId>7</MsgId>")
    response = webhook.send(xml)
    assert response.status_code == 200
    assert webhook.side.open_reply(response.text)["Content"] == texts.UNSUPPORTED_MESSAGE


def test_openid_crafted_to_break_the_reply_xml_comes_back_intact(webhook: Webhook) -> None:
    evil = "o]]></ToUserName><Content><![CDATA[pwned]]></Content><x><![CDATA["
    response = webhook.send(webhook.side.text_xml(evil, "hi"), "o_user")
    reply = webhook.side.open_reply(response.text)
    assert reply["ToUserName"] == evil
    assert reply["Content"] == idle_answer("hi")


def test_a_delivery_repeated_four_times_is_processed_once_with_four_identical_replies(
        make_settings, wechat_side, aes, redis_client) -> None:
    counting = CountingRoute()
    webhook = Webhook(create_app(make_settings(aes=aes), route=counting), wechat_side)
    xml = wechat_side.text_xml("o_user", "你好", msg_id=1001)
    # WeChat's retries are new requests (new nonce and signature) carrying the same message.
    bodies = [webhook.send(xml).text for _ in range(4)]
    assert counting.calls == 1
    assert len(set(bodies)) == 1
    assert wechat_side.open_reply(bodies[0])["Content"] == texts.HELP


def test_repeated_events_are_deduplicated_by_sender_time_event_and_key(
        make_settings, wechat_side, aes, redis_client) -> None:
    counting = CountingRoute()
    webhook = Webhook(create_app(make_settings(aes=aes), route=counting), wechat_side)
    click = wechat_side.event_xml("o_user", "CLICK", key="BIND", create_time=1700000000)
    for _ in range(3):
        webhook.send(click)
    assert counting.calls == 1
    webhook.send(wechat_side.event_xml("o_user", "CLICK", key="BIND", create_time=1700000001))
    webhook.send(wechat_side.event_xml("o_user", "CLICK", key="HELP", create_time=1700000000))
    webhook.send(wechat_side.event_xml("o_other", "CLICK", key="BIND", create_time=1700000000))
    assert counting.calls == 4


def test_same_msgid_from_two_users_is_two_messages(make_settings, wechat_side, aes, redis_client) -> None:
    counting = CountingRoute()
    webhook = Webhook(create_app(make_settings(aes=aes), route=counting), wechat_side)
    webhook.send(wechat_side.text_xml("o_a", "1", msg_id=5), "o_a")
    webhook.send(wechat_side.text_xml("o_b", "1", msg_id=5), "o_b")
    assert counting.calls == 2


def test_dedupe_is_namespaced_by_appid(make_settings, redis_client) -> None:
    counting = CountingRoute()
    for appid in ("wx_account_one", "wx_account_two"):
        settings = make_settings(wechat={"appid": appid})
        side = WeChatSide(settings.wechat)
        Webhook(create_app(settings, route=counting), side).send(side.text_xml("o_user", "hi", msg_id=77))
    assert counting.calls == 2


def test_a_captured_signature_cannot_carry_a_forged_body(webhook: Webhook, aes: bool) -> None:
    side = webhook.side
    genuine = side.deliver(side.text_xml("o_user", "hi", msg_id=900), "o_user")
    assert webhook.post(genuine).status_code == 200
    forged_body = side.deliver(side.text_xml("o_victim", "hi", msg_id=901), "o_victim").body
    forged = type(genuine)(genuine.query, forged_body)
    # Plaintext: same nonce, other body → refused by the nonce ledger. Safe mode: the
    # msg_signature does not cover the forged ciphertext → refused before that.
    assert webhook.post(forged).status_code == 403


def test_a_captured_signature_split_another_way_cannot_carry_a_forged_body(make_settings, redis_client) -> None:
    """The plaintext signature hashes token, timestamp and nonce sorted and joined: a zero moved
    from the nonce's end to the timestamp's front (`0010` + `17…` → `001` + `017…`) signs alike, and
    the timestamp reads the same. The nonce ledger is keyed by the signature, so the moved split
    finds the first body's record."""
    settings = make_settings()
    side = WeChatSide(settings.wechat)
    hook = Webhook(create_app(settings), side)
    timestamp, nonce = str(int(time.time())), "0010"
    signature = wechat_signature(settings.wechat.token, timestamp, nonce)
    assert wechat_signature(settings.wechat.token, "0" + timestamp, "001") == signature

    def post(ts: str, nc: str, xml: str):
        query = urlencode({"signature": signature, "timestamp": ts, "nonce": nc, "openid": "o_user"})
        return hook.app.test_client().post(f"/wechat?{query}", data=xml.encode(), content_type="text/xml")

    assert post(timestamp, nonce, side.text_xml("o_user", "你好", msg_id=930)).status_code == 200
    forged = post("0" + timestamp, "001", side.text_xml("o_victim", "解除绑定", msg_id=931))
    assert forged.status_code == 403 and forged.text == "nonce reused with another body"
