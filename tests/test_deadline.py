"""A reply always leaves within the deadline; slower answers arrive as customer-service messages."""

from __future__ import annotations

import time

import pytest
import requests

from bot.app import create_app
from flows.texts import apologies
from handlers.reply import Text
from tests.conftest import wait_for
from tests.support.webhook import Webhook

DEADLINE = 1.0


class SlowRoute:
    def __init__(self, delay: float) -> None:
        self.delay, self.calls = delay, 0

    def __call__(self, inbound, session):
        self.calls += 1
        time.sleep(self.delay)
        return Text(f"慢慢来的回答：{inbound.field('Content')}")


@pytest.fixture
def slow_webhook(make_settings, wechat_side, aes, fake_wechat, redis_client):
    def build(delay: float) -> tuple[Webhook, SlowRoute]:
        settings = make_settings(aes=aes, webhook={"reply_deadline": DEADLINE},
                                 wechat={"api_base_url": fake_wechat.url})
        route = SlowRoute(delay)
        return Webhook(create_app(settings, route=route), wechat_side), route
    return build


def opened_window(fake_wechat, openid: str) -> None:
    """What WeChat's servers know when a user writes: the customer-service window is open."""
    requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": openid}, timeout=5)


def sent_messages(fake_wechat) -> list[dict]:
    return requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json()


def test_slow_handler_gets_success_then_a_customer_service_message(slow_webhook, fake_wechat) -> None:
    webhook, route = slow_webhook(delay=DEADLINE + 0.6)
    xml = webhook.side.text_xml("o_slow", "查进度", msg_id=31)
    opened_window(fake_wechat, "o_slow")
    started = time.monotonic()
    response = webhook.send(xml, "o_slow")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.text == "success"
    assert elapsed < DEADLINE + 0.3

    sent = wait_for(lambda: sent_messages(fake_wechat), timeout=5)
    assert sent == [{"kind": "custom", "at": sent[0]["at"], "touser": "o_slow", "msgtype": "text",
                     "text": {"content": "慢慢来的回答：查进度"}}]

    # WeChat's retry of the same message: answered `success`, not processed or sent again.
    retry = webhook.send(xml, "o_slow")
    assert retry.text == "success"
    time.sleep(DEADLINE + 0.8)
    assert route.calls == 1
    assert len(sent_messages(fake_wechat)) == 1


def test_retry_arriving_while_the_first_copy_is_still_working_waits_for_it(slow_webhook, fake_wechat) -> None:
    webhook, route = slow_webhook(delay=DEADLINE * 0.4)
    xml = webhook.side.text_xml("o_user", "你好", msg_id=32)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(webhook.send, xml)
        time.sleep(DEADLINE * 0.2)
        second = pool.submit(webhook.send, xml)
        bodies = [first.result().text, second.result().text]
    assert bodies[0] == bodies[1] != "success"
    assert route.calls == 1
    assert sent_messages(fake_wechat) == []


def test_handler_within_the_deadline_answers_inline(slow_webhook, fake_wechat) -> None:
    webhook, route = slow_webhook(delay=DEADLINE / 4)
    reply = webhook.say("你好")
    assert reply["Content"] == "慢慢来的回答：你好"
    time.sleep(0.2)
    assert sent_messages(fake_wechat) == []


def test_late_answer_survives_an_expired_access_token(slow_webhook, fake_wechat, redis_client) -> None:
    webhook, _ = slow_webhook(delay=DEADLINE + 0.2)
    # One 40001 from WeChat: the client refreshes the token once and retries once.
    requests.post(f"{fake_wechat.url}/fake/fail", json=[{"errcode": 40001}], timeout=5)
    opened_window(fake_wechat, "o_user")
    assert webhook.send(webhook.side.text_xml("o_user", "hi")).text == "success"
    sent = wait_for(lambda: sent_messages(fake_wechat), timeout=5)
    assert sent[0]["text"]["content"] == "慢慢来的回答：hi"
    stats = requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()
    # The first fetch; a normal refresh (WeChat hands back the refused token); one forced refresh.
    assert (stats["token_fetches"], stats["forced_fetches"]) == (3, 1)


def test_handler_that_crashes_gets_an_apology_not_an_error_page(make_settings, wechat_side, aes, redis_client) -> None:
    def broken(inbound, session):
        raise RuntimeError("bug")
    webhook = Webhook(create_app(make_settings(aes=aes), route=broken), wechat_side)
    assert webhook.say("你好")["Content"] == apologies.ERROR


def test_queued_messages_whose_turn_comes_after_the_deadline_are_answered_in_order_by_message(
        slow_webhook, fake_wechat) -> None:
    """Three messages at once from one user, each taking 0.6 s: the first is answered in time; the
    two that waited behind it answer `success`, then arrive in order as customer-service messages."""
    from concurrent.futures import ThreadPoolExecutor
    webhook, route = slow_webhook(delay=0.6)
    opened_window(fake_wechat, "o_user")
    xmls = [webhook.side.text_xml("o_user", text, msg_id=40 + i) for i, text in enumerate(("一", "二", "三"))]

    def send(i: int):
        time.sleep(0.1 * i)   # in this order
        return webhook.send(xmls[i]).text

    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(send, range(3)))
    assert webhook.side.open_reply(bodies[0])["Content"] == "慢慢来的回答：一"
    assert bodies[1:] == ["success", "success"]
    sent = wait_for(lambda: len(sent_messages(fake_wechat)) == 2 and sent_messages(fake_wechat), timeout=5)
    assert [m["text"]["content"] for m in sent] == ["慢慢来的回答：二", "慢慢来的回答：三"]
    assert webhook.send(xmls[1]).text == "success"   # WeChat's retry: not processed again
    assert route.calls == 3
