"""Redis stopped: polite replies within the deadline; Redis back: service resumes, no restart."""

from __future__ import annotations

import time

from bot.app import create_app
from bot.simulator.wechat_side import WeChatSide
from bot.store.server import RedisServer
from flows.texts import apologies
from tests.support.chat import idle_answer
from tests.support.webhook import Webhook


def test_redis_down_then_back(make_settings, wechat_side, aes, tmp_path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(aes=aes, redis={"url": server.url})
        webhook = Webhook(create_app(settings), wechat_side)
        client = webhook.app.test_client()
        assert webhook.say("你好")["Content"] == idle_answer("你好")

        server.stop()
        started = time.monotonic()
        reply = webhook.say("还在吗")
        assert time.monotonic() - started < settings.webhook.reply_deadline
        assert reply["Content"] == apologies.BUSY
        assert client.get("/healthz").status_code == 503

        server.start()
        assert webhook.say("恢复了吗")["Content"] == idle_answer("恢复了吗")
        assert client.get("/healthz").json == {"status": "ok", "redis": "ok"}
    finally:
        server.cleanup()


def test_redis_stalling_at_the_deadline_neither_delays_the_reply_nor_loses_the_answer(
        make_settings, fake_wechat, tmp_path) -> None:
    """Redis freezes (a fork, an fsync spike, a failover) just as the deadline comes: the request
    still answers in time, and the answer still reaches the user afterwards."""
    import threading

    import redis as redis_lib
    import requests

    from handlers.reply import Text

    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(redis={"url": server.url}, webhook={"reply_deadline": 1.0},
                                 wechat={"api_base_url": fake_wechat.url})
        app = create_app(settings, route=lambda inbound, session: (time.sleep(1.5), Text("慢慢查好了"))[1])
        side = WeChatSide(settings.wechat)
        requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o_user"}, timeout=5)
        pauser = redis_lib.Redis.from_url(server.url)
        threading.Timer(0.5, lambda: pauser.execute_command("CLIENT", "PAUSE", 1500)).start()

        delivery = side.deliver(side.text_xml("o_user", "查一下"), "o_user")
        started = time.monotonic()
        response = app.test_client().post(f"/wechat?{delivery.query}", data=delivery.body)
        elapsed = time.monotonic() - started

        assert response.text == "success"
        assert elapsed < settings.webhook.reply_deadline
        sent = []
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            sent = requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json()
            time.sleep(0.1)
        assert [m["text"]["content"] for m in sent] == ["慢慢查好了"]
    finally:
        server.cleanup()


def test_a_lock_taken_by_redis_after_the_caller_gave_up_is_taken_back(make_settings, tmp_path) -> None:
    """A stalled Redis runs the admission's script when it wakes, after the webhook has answered
    系统繁忙: the user's lock it takes has no holder. It must not block the user for its TTL."""
    import os
    import signal
    import threading

    import redis as redis_lib

    from bot.store.keys import Keys
    from tests.conftest import APPID, wait_for

    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(redis={"url": server.url})
        webhook = Webhook(create_app(settings), WeChatSide(settings.wechat))
        observer = redis_lib.Redis.from_url(server.url)
        lock = Keys("wxbot", APPID).user_lock("o_user")
        assert webhook.say("你好")["Content"] == idle_answer("你好")  # the scripts are loaded
        # Frozen, not dead: the script waits in the socket and runs when Redis wakes, after the
        # webhook's 1 s timeout (CLIENT PAUSE would drop it with the closed connection).
        os.kill(server.pid, signal.SIGSTOP)
        threading.Timer(1.5, os.kill, (server.pid, signal.SIGCONT)).start()
        assert webhook.say("在吗")["Content"] == apologies.BUSY
        wait_for(lambda: observer.ping(), timeout=5)  # awake: the late script has run
        wait_for(lambda: not observer.exists(lock), timeout=2)
        started = time.monotonic()
        assert webhook.say("还在吗")["Content"] == idle_answer("还在吗")
        assert time.monotonic() - started < 1
    finally:
        server.cleanup()


def test_a_message_queued_by_redis_after_the_caller_gave_up_is_withdrawn(make_settings, tmp_path) -> None:
    """The same stall while the user's previous message holds their lock: the late admission puts
    the message in the user's queue, after its sender was told 系统繁忙 (and will send it again).
    It must not be processed later: the webhook withdraws it as soon as Redis answers."""
    import os
    import signal
    import threading

    import redis as redis_lib

    from bot.store.keys import Keys
    from tests.conftest import APPID, wait_for

    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(redis={"url": server.url})
        webhook = Webhook(create_app(settings), WeChatSide(settings.wechat))
        observer = redis_lib.Redis.from_url(server.url)
        keys = Keys("wxbot", APPID)
        assert webhook.say("你好")["Content"] == idle_answer("你好")  # the scripts are loaded
        observer.set(keys.user_lock("o_user"), "the previous message", px=30_000)
        os.kill(server.pid, signal.SIGSTOP)
        threading.Timer(1.5, os.kill, (server.pid, signal.SIGCONT)).start()
        assert webhook.say("在吗")["Content"] == apologies.BUSY
        wait_for(lambda: observer.ping(), timeout=5)  # awake: the late script has run
        wait_for(lambda: not observer.exists(keys.user_queue("o_user")), timeout=2)
        assert observer.get(keys.user_lock("o_user")) == b"the previous message"   # not someone else's to release
    finally:
        server.cleanup()
