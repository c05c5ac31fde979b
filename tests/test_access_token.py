"""The access token: one fetch however many processes need it; 40001 storms stay bounded."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bot.store.keys import Keys
from bot.wechat.client import WeChatAPI
from bot.wechat.token import SharedAccessToken
from tests.conftest import APPID, SECRET
from tests.support.token_worker import fetch_token


def stats(fake_wechat) -> dict:
    return requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()


def test_eight_processes_needing_a_token_at_once_cause_one_fetch(fake_wechat, redis_server, redis_client) -> None:
    start_at = time.time() + 1.5
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        tokens = pool.starmap(fetch_token, [(redis_server.url, fake_wechat.url, APPID, SECRET, start_at)] * 8)
    assert len(set(tokens)) == 1
    assert stats(fake_wechat)["token_fetches"] == 1


def test_a_40001_storm_stays_bounded(fake_wechat, redis_client) -> None:
    api = WeChatAPI(APPID, SECRET, base_url=fake_wechat.url, timeout=5)
    api.tokens = SharedAccessToken(redis_client, Keys("wxbot", APPID), api.fetch_stable_token)
    requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o1"}, timeout=5)
    api.access_token  # noqa: B018 - the first fetch
    # WeChat answers 40001 to twenty calls in a row: each call refreshes at most once and retries
    # at most once, and concurrent calls that saw the same rejected token share one refresh.
    requests.post(f"{fake_wechat.url}/fake/fail", json=[{"errcode": 40001, "path": "custom"}] * 20, timeout=5)

    def send(_: int) -> str:
        try:
            api.send_text("o1", "hi")
            return "sent"
        except Exception as exc:  # noqa: BLE001 - whatever fails, its errcode or message is the result
            return str(getattr(exc, "errcode", exc))

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(send, range(10)))
    # Every call failed after at most two attempts (never a recursion), either on WeChat's
    # 40001 or because a forced refresh was spent moments ago.
    assert set(outcomes) <= {"40001", "the token was refused and was force-refreshed moments ago"}
    assert stats(fake_wechat)["calls"]["/cgi-bin/message/custom/send"] <= 2 * 10
    assert stats(fake_wechat)["token_fetches"] <= 1 + 2 * 10  # at most a normal and a forced refresh per call
    # WeChat rations forced refreshes (20 a day): the storm used at most one.
    assert stats(fake_wechat)["forced_fetches"] <= 1


def test_an_expired_token_is_replaced_without_spending_a_forced_refresh(fake_wechat, redis_client) -> None:
    api = WeChatAPI(APPID, SECRET, base_url=fake_wechat.url, timeout=5)
    tokens = SharedAccessToken(redis_client, Keys("wxbot", APPID), api.fetch_stable_token)
    api.tokens = tokens
    stale = "a-token-wechat-has-since-replaced"
    redis_client.set(Keys("wxbot", APPID).access_token(), stale)
    requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o1"}, timeout=5)
    api.send_text("o1", "hi")  # 40001 for the stale token → a normal refresh is enough
    assert stats(fake_wechat)["forced_fetches"] == 0


def test_the_token_never_reaches_the_logs(fake_wechat, redis_client, capfd) -> None:
    api = WeChatAPI(APPID, SECRET, base_url=fake_wechat.url, timeout=5)
    api.tokens = SharedAccessToken(redis_client, Keys("wxbot", APPID), api.fetch_stable_token)
    token = api.access_token
    requests.post(f"{fake_wechat.url}/fake/fail", json=[{"status": 502, "path": "custom"}], timeout=5)
    with contextlib.suppress(Exception):   # it fails: what matters is what it logged
        api.send_text("o1", "hi")
    output = "".join(capfd.readouterr())
    assert token not in output
