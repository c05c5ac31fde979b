"""Guards that only show when something has gone wrong elsewhere: a worker that crashed holding a
user's lock or a delivery's claim, and logs that must stay free of personal data."""

from __future__ import annotations

import time

import pytest
import requests

from bot.app import create_app
from bot.wechat.simulate import WeChatSide
from flows import texts
from tests.conftest import wait_for
from tests.support.webhook import Webhook
from tests.support.chat import idle_answer


@pytest.fixture
def webhook(make_settings, fake_wechat, redis_client) -> Webhook:
    settings = make_settings(webhook={"user_lock_ttl": 5, "processing_lease": 5},
                             wechat={"api_base_url": fake_wechat.url})
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


def test_a_lock_left_by_a_crashed_worker_expires(webhook: Webhook, fake_wechat, redis_client) -> None:
    bot = webhook.app.extensions["wxbot"]
    # A worker took the user's lock and died a second later: nobody will release it; it has
    # four of its five seconds left.
    bot.redis.lock(bot.keys.user_lock("o_user"), timeout=4).acquire()
    requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o_user"}, timeout=5)
    started = time.monotonic()
    response = webhook.send(webhook.side.text_xml("o_user", "你好"))
    if response.text == "success":  # the lock expired after the deadline: the answer comes late
        sent = wait_for(lambda: requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json(), timeout=10)
        answer = sent[0]["text"]["content"]
    else:  # or just before it: the answer is the reply itself
        answer = webhook.side.open_reply(response.text)["Content"]
    assert answer == idle_answer("你好")  # answered once the dead worker's lock expired
    assert 3.5 < time.monotonic() - started < 7


def test_a_claim_left_by_a_crashed_worker_expires(webhook: Webhook, redis_client) -> None:
    bot = webhook.app.extensions["wxbot"]
    xml = webhook.side.text_xml("o_user", "你好", msg_id=4242)
    # The first copy was claimed by a worker that died before answering.
    redis_client.hset(bot.keys.delivery("msg|o_user|4242"), "status", "pending")
    redis_client.pexpire(bot.keys.delivery("msg|o_user|4242"), 5000)
    assert webhook.send(xml).text == "success"  # a retry within the lease: the claim stands
    time.sleep(5.1)
    assert webhook.side.open_reply(webhook.send(xml).text)["Content"] == idle_answer("你好")  # lease over


def test_webhook_logs_carry_no_openid_and_no_message_text(webhook: Webhook, capfd) -> None:
    webhook.say("我的身份证号是11010519491231002X", openid="oXyZ_secret_openid")
    webhook.send(webhook.side.event_xml("oXyZ_secret_openid", "subscribe"), "oXyZ_secret_openid")
    time.sleep(0.5)  # the handler logs after the reply has left
    output = "".join(capfd.readouterr())
    assert "processed" in output
    assert "oXyZ_secret_openid" not in output
    assert "11010519491231002X" not in output and "身份证" not in output


def test_events_not_addressed_to_us_do_not_wait_for_the_users_lock(webhook: Webhook) -> None:
    bot = webhook.app.extensions["wxbot"]
    bot.redis.lock(bot.keys.user_lock("o_busy"), timeout=30).acquire()  # the user's flow is busy
    started = time.monotonic()
    response = webhook.send(webhook.side.event_xml("o_busy", "LOCATION"), "o_busy")
    assert response.text == "success"
    assert time.monotonic() - started < 1  # answered at once, not after the lock
