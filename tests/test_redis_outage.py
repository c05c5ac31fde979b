"""Redis stopped: polite replies within the deadline; Redis back: service resumes, no restart."""

from __future__ import annotations

import time

from bot.app import create_app
from bot.store.server import RedisServer
from flows import texts
from tests.support.webhook import Webhook


def test_redis_down_then_back(make_settings, wechat_side, aes, tmp_path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(aes=aes, redis={"url": server.url})
        webhook = Webhook(create_app(settings), wechat_side)
        client = webhook.app.test_client()
        assert webhook.say("你好")["Content"] == texts.HELP

        server.stop()
        started = time.monotonic()
        reply = webhook.say("还在吗")
        assert time.monotonic() - started < settings.webhook.reply_deadline
        assert reply["Content"] == texts.BUSY
        assert client.get("/healthz").status_code == 503

        server.start()
        assert webhook.say("恢复了吗")["Content"] == texts.HELP
        assert client.get("/healthz").json == {"status": "ok", "redis": "ok"}
    finally:
        server.cleanup()
