"""The subscribe page (GET /subscribe) and what signs it: WeChat's open tag for the subscription
notices in use, `wx.config` signed with a jsapi_ticket that every process shares through Redis."""

from __future__ import annotations

import json
import re
import threading

import pytest
import requests

from bot.app import create_app
from bot.store.keys import Keys
from bot.wechat.jssdk import signature
from flows.texts import subscribe as t
from tests.test_subscription_notices import APPROVED, NOTICES, REJECTED

PAGE = "https://wx.example.gov.cn/subscribe"


def test_the_signature_is_wechats_documented_example() -> None:
    assert signature("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
                     "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value") \
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    # The #fragment is not signed: the browser's address without it.
    assert signature("t", "n", 1, "http://a/b?c=d#e") == signature("t", "n", 1, "http://a/b?c=d")


@pytest.fixture
def page(make_settings, fake_wechat, redis_client):
    def make(notifications=NOTICES, **sections):
        settings = make_settings(wechat={"api_base_url": fake_wechat.url},
                                 notifications={"subscribe_page": PAGE, **notifications}, **sections)
        return create_app(settings).test_client()
    return make


def config_of(html: str) -> dict | None:
    return json.loads(re.search(r"const config = (.*?);", html).group(1))


def tickets(fake_wechat) -> list[str]:
    return requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["tickets"]


def test_the_page_offers_the_notices_in_use_signed_for_its_own_address(page, fake_wechat) -> None:
    response = page().get("/subscribe?from=singlemessage")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert f'template="{APPROVED},{REJECTED}"' in html                       # both kinds use notices
    assert "家庭共济办理成功提醒" in html and t.TITLE in html and t.ONE_TIME in html and t.BUTTON in html
    config = config_of(html)
    [ticket] = tickets(fake_wechat)
    assert config["appId"] == "wx1234567890abcdef"
    # Signed for the address users reach (the setting), with the query WeChat's browser brought.
    assert config["signature"] == signature(ticket, config["nonceStr"], config["timestamp"],
                                            f"{PAGE}?from=singlemessage")


def test_a_configured_address_with_a_query_is_signed_as_the_browser_asks_for_it(page, fake_wechat) -> None:
    client = page(notifications={**NOTICES, "subscribe_page": f"{PAGE}?from=menu"})
    config = config_of(client.get("/subscribe?from=menu").get_data(as_text=True))
    [ticket] = tickets(fake_wechat)
    assert config["signature"] == signature(ticket, config["nonceStr"], config["timestamp"], f"{PAGE}?from=menu")


def test_only_the_kinds_that_use_notices_are_offered_and_none_means_nothing_to_sign(page, fake_wechat) -> None:
    one = {**NOTICES, "rejected": {**NOTICES["rejected"], "channel": "template"}}
    html = page(one).get("/subscribe").get_data(as_text=True)
    assert f'template="{APPROVED}"' in html
    none = {kind: {**value, "channel": "template"} for kind, value in NOTICES.items()}
    html = page(none).get("/subscribe").get_data(as_text=True)
    assert t.NOTHING in html and "wx-open-subscribe" not in html and "const config" not in html
    assert len(tickets(fake_wechat)) == 1    # the first page's: a page with nothing to offer signs nothing


def test_one_ticket_for_every_page_and_thread(page, fake_wechat) -> None:
    client_of = page
    apps = [client_of() for _ in range(3)]     # three processes' worth of apps, one Redis
    signatures, errors = [], []

    def load(client) -> None:
        try:
            signatures.append(config_of(client.get("/subscribe").get_data(as_text=True))["signature"])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(apps[n % 3],)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(signatures) == 24
    assert len(tickets(fake_wechat)) == 1                  # fetched once, under the lock, then shared


def test_a_refused_access_token_is_replaced_once_and_the_page_signed(page, fake_wechat, redis_client) -> None:
    client = page()
    redis_client.set(Keys("wxbot", "wx1234567890abcdef").access_token(), "stale-token")
    assert config_of(client.get("/subscribe").get_data(as_text=True))["signature"]
    assert len(tickets(fake_wechat)) == 1


def test_without_a_ticket_the_page_still_answers_and_logs_no_token(page, fake_wechat, redis_client, capfd) -> None:
    client = page()
    requests.post(f"{fake_wechat.url}/fake/fail", json=[{"status": 502, "path": "ticket"}], timeout=5)
    capfd.readouterr()
    response = client.get("/subscribe")
    assert response.status_code == 200 and config_of(response.get_data(as_text=True)) is None
    words = json.loads(re.search(r"const words = (.*?);\n", response.get_data(as_text=True)).group(1))
    assert words["failed"] == t.FAILED                     # what the page says in WeChat without a config
    logged = "".join(capfd.readouterr())
    assert "subscribe_page_unsigned" in logged and "access_token" not in logged
    # For a few seconds the other pages fail at once, without asking WeChat: request threads serve
    # the webhook too, and must not queue behind a WeChat that does not answer.
    assert config_of(client.get("/subscribe").get_data(as_text=True)) is None
    assert calls(fake_wechat, "/cgi-bin/ticket/getticket") == 1
    redis_client.delete(Keys("wxbot", "wx1234567890abcdef").jsapi_ticket_lock() + ":paused")   # the pause is over
    assert config_of(client.get("/subscribe").get_data(as_text=True))    # the next page fetches it


def calls(fake_wechat, path: str) -> int:
    return requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["calls"].get(path, 0)


def test_the_simulators_stand_in_is_for_development_only(page) -> None:
    assert "const standIn = true;" in page().get("/subscribe").get_data(as_text=True)
    production = page(server={"environment": "production"}).get("/subscribe").get_data(as_text=True)
    assert "const standIn = false;" in production
