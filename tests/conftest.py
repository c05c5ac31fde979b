"""Shared fixtures: one real redis-server for the session, settings, WeChat's side, the fake API."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
import redis

from bot.background import BackgroundServer
from bot.config import Settings, load_settings
from bot.simulator.fake_wechat import create_fake_wechat
from bot.simulator.wechat_side import WeChatSide
from bot.store.server import RedisServer

APPID = "wx1234567890abcdef"
TOKEN = "testtoken123"
SECRET = "testsecret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CONVERSATION_KEY = "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 10, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> RedisServer:
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def running():
    """Start a wxbot command in the background; stop it (and everything it started) afterwards."""
    from tests.support.processes import Commands
    commands = Commands()
    yield commands.start
    commands.stop()


@pytest.fixture
def fake_wechat() -> BackgroundServer:
    server = BackgroundServer(create_fake_wechat(APPID, SECRET)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_settings(redis_server: RedisServer) -> Callable[..., Settings]:
    def make(aes: bool = False, **sections: dict) -> Settings:
        wechat = {"appid": APPID, "token": TOKEN, "secret": SECRET,
                  "encoding_aes_key": AES_KEY if aes else ""}
        wechat.update(sections.pop("wechat", {}))
        conversation = {"secret_key": CONVERSATION_KEY, **sections.pop("conversation", {})}
        # The tests' values are a laptop's (the sandbox, short secrets): production would refuse them.
        server = {"environment": "development", **sections.pop("server", {})}
        return load_settings(None, wechat=wechat, conversation=conversation,
                             redis={"url": redis_server.url, **sections.pop("redis", {})},
                             log={"format": "console", **sections.pop("log", {})}, server=server, **sections)
    return make


@pytest.fixture(autouse=True)
def no_redis_from_a_step_on_the_request_thread(monkeypatch: pytest.MonkeyPatch):
    """Every test in this process: a step tried on the request thread (bot/webhook/processing.py)
    sends nothing to Redis — whatever would, hands the step to a handler thread first (its only
    Redis call is the reply's record, made after the step). The deadline's guarantee rests on it."""
    import threading

    from redis.connection import AbstractConnection

    from bot.webhook.processing import Processor

    sent: list[str] = []
    on_the_request_thread = threading.local()   # this test's own marker: set while a step is tried inline
    send, answer = AbstractConnection.send_packed_command, Processor._answer

    def guarded(self, command, check_health=True):
        if getattr(on_the_request_thread, "trying", False):
            sent.append(repr(command)[:120])
        return send(self, command, check_health)

    def marked(self, inbound, envelope, lock):
        on_the_request_thread.trying = lock.records is not None and lock.records.inline
        try:
            return answer(self, inbound, envelope, lock)
        finally:
            on_the_request_thread.trying = False

    monkeypatch.setattr(AbstractConnection, "send_packed_command", guarded)
    monkeypatch.setattr(Processor, "_answer", marked)
    yield
    assert not sent, f"a step on the request thread sent Redis commands: {sent}"


MODES = ["plaintext", "compatible", "safe"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """WeChat's three message-encryption modes (明文, 兼容, 安全)."""
    return request.param


@pytest.fixture
def aes(mode: str) -> bool:
    """Whether the bot is configured with an EncodingAESKey (compatible and safe mode)."""
    return mode != "plaintext"


@pytest.fixture
def wechat_side(make_settings: Callable[..., Settings], aes: bool, mode: str) -> WeChatSide:
    return WeChatSide(make_settings(aes=aes).wechat, mode=mode)


@pytest.fixture
def chat_world(make_settings, redis_client):
    """The webhook over real HTTP on a fresh Redis, the sandbox bureau inside with a fixed SMS code:
    (app, server, WeChat's side) for tests/support/chat.User."""
    from bot.app import create_app
    from tests.support.chat import CODE

    # A script types faster than anyone: the per-user message rate is tests/test_concurrency.py's.
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}}, webhook={"user_rate_limit": 1000})
    app = create_app(settings)
    server = BackgroundServer(app).start()
    yield app, server, WeChatSide(settings.wechat)
    server.stop()
