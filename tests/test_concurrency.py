"""Several real gunicorn processes sharing one Redis: dedupe and per-user ordering hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.wechat.simulate import WeChatSide
from flows import texts
from tests.conftest import MODES
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
    for (_, end), (next_start, _) in zip(spans, spans[1:]):
        assert next_start >= end, "two messages of one user were processed at the same time"


def test_different_users_are_handled_in_parallel(two_servers, redis_client) -> None:
    side, servers = two_servers

    def post(i: int) -> requests.Response:
        openid = f"o_user_{i}"
        return side.post(servers[i % 2].url, side.deliver(side.text_xml(openid, "hi"), openid))

    with ThreadPoolExecutor(4) as pool:
        assert [r.status_code for r in pool.map(post, range(4))] == [200] * 4

    spans = sorted((start, end) for _, _, _, start, end in traces(redis_client))
    overlapping = sum(1 for (_, end), (next_start, _) in zip(spans, spans[1:]) if next_start < end)
    assert overlapping >= 1
