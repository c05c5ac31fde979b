"""Several real gunicorn processes sharing one Redis: dedupe and per-user ordering hold, and one
user's messages beyond their fair share are answered at once."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from flows import texts
from flows.texts import apologies
from tests.conftest import APPID, MODES
from tests.support.apps import TRACE_KEY
from tests.support.processes import Gunicorn, settings_env


def traces(redis_client) -> list[tuple[str, str, int, float, float]]:
    rows = []
    for raw in redis_client.lrange(TRACE_KEY, 0, -1):
        openid, content, pid, start, end = raw.decode().split("|")
        rows.append((openid, content, int(pid), float(start), float(end)))
    return rows


@pytest.fixture(scope="module", params=MODES)
def two_servers(make_settings, request):
    """Two gunicorn instances (2 workers each) behind no balancer: like two machines."""
    settings = make_settings(aes=request.param != "plaintext")
    env = {**settings_env(settings), "TEST_HANDLER_DELAY": "0.5"}
    with Gunicorn("tests.support.apps:traced_app()", env) as first, \
            Gunicorn("tests.support.apps:traced_app()", env) as second:
        yield WeChatSide(settings.wechat, mode=request.param), [first, second]


def test_four_concurrent_copies_across_processes_are_processed_once(two_servers, redis_client) -> None:
    side, servers = two_servers
    xml = side.text_xml("o_user", "你好", msg_id=424242)
    deliveries = [side.deliver(xml, "o_user") for _ in range(4)]  # as WeChat's retries: new nonces

    def post(i: int) -> requests.Response:
        return side.post(servers[i % 2].url, deliveries[i])

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(post, range(4)))

    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.headers["X-Test-Worker"] for r in responses}) >= 2  # really several processes
    assert len({r.text for r in responses}) == 1  # byte-identical replies
    assert side.open_reply(responses[0].text)["Content"] == texts.HELP
    assert len(traces(redis_client)) == 1  # processed once


def test_one_users_messages_are_handled_one_at_a_time(two_servers, redis_client) -> None:
    side, servers = two_servers

    def post(i: int) -> requests.Response:
        return side.post(servers[i % 2].url, side.deliver(side.text_xml("o_same", f"m{i}"), "o_same"))

    with ThreadPoolExecutor(4) as pool:
        assert [r.status_code for r in pool.map(post, range(4))] == [200] * 4

    spans = sorted((start, end) for _, _, _, start, end in traces(redis_client))
    assert len(spans) == 4
    for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert next_start >= end, "two messages of one user were processed at the same time"


def test_different_users_are_handled_in_parallel(two_servers, redis_client) -> None:
    side, servers = two_servers

    def post(i: int) -> requests.Response:
        openid = f"o_user_{i}"
        return side.post(servers[i % 2].url, side.deliver(side.text_xml(openid, "hi"), openid))

    with ThreadPoolExecutor(4) as pool:
        assert [r.status_code for r in pool.map(post, range(4))] == [200] * 4

    spans = sorted((start, end) for _, _, _, start, end in traces(redis_client))
    overlapping = sum(1 for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False) if next_start < end)
    assert overlapping >= 1


# -- fair share: one user's messages queue up in order, and the excess is answered at once --------

QUEUE_MAX, RATE_LIMIT = 3, 8


@pytest.fixture(scope="module")
def fair_servers(make_settings):
    settings = make_settings(aes=True, webhook={"user_queue_max": QUEUE_MAX, "user_rate_limit": RATE_LIMIT})
    env = {**settings_env(settings), "TEST_HANDLER_DELAY": "0.8"}
    with Gunicorn("tests.support.apps:traced_app()", env) as first, \
            Gunicorn("tests.support.apps:traced_app()", env) as second:
        yield WeChatSide(settings.wechat, mode="safe"), [first, second]


def test_one_users_messages_are_worked_in_order_by_the_lock_holder_and_the_excess_is_limited(
        fair_servers, redis_client) -> None:
    side, servers = fair_servers
    replies: dict[str, str] = {}

    def post(i: int, delay: float = 0.0) -> None:
        time.sleep(delay)
        xml = side.text_xml("o_fifo", f"m{i}", msg_id=7000 + i)
        response = side.post(servers[i % 2].url, side.deliver(xml, "o_fifo"), timeout=10)
        assert response.status_code == 200
        replies[f"m{i}"] = side.open_reply(response.text)["Content"]

    # Five at once, 0.1 s apart (so that their order is known), while each takes 0.8 s: the first
    # takes the lock, three wait in the queue, the fifth finds it full.
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda i: post(i, 0.1 * i), range(5)))
    assert [replies[f"m{i}"] for i in range(4)] == [texts.HELP] * 4   # all in time, as passive replies
    assert replies["m4"] == apologies.TOO_MANY_WAITING

    # Then one at a time, up to the rate window's limit (the limited one counts too).
    for i in range(5, RATE_LIMIT):
        post(i)
        assert replies[f"m{i}"] == texts.HELP
    limited = side.text_xml("o_fifo", "too many", msg_id=7999)
    first = side.post(servers[0].url, side.deliver(limited, "o_fifo"))
    seconds = int(re.search(r"请(\d+)秒后再发", side.open_reply(first.text)["Content"]).group(1))
    assert 0 < seconds <= 60
    retry = side.post(servers[1].url, side.deliver(limited, "o_fifo"))   # WeChat's retry: the same answer
    assert retry.text == first.text

    rows = sorted(traces(redis_client), key=lambda row: row[3])
    assert [content for _, content, _, _, _ in rows] == [f"m{i}" for i in range(RATE_LIMIT) if i != 4]
    for (_, _, _, _, end), (_, _, _, next_start, _) in zip(rows, rows[1:], strict=False):
        assert next_start >= end, "two messages of one user were processed at the same time"
    # The three that queued were worked by the thread that held the lock, wherever they arrived.
    assert len({pid for _, _, pid, _, _ in rows[:4]}) == 1
    assert redis_client.llen(Keys("wxbot", APPID).user_queue("o_fifo")) == 0
