"""The three WSGI apps the benchmark serves with the same gunicorn settings, each a factory that
gunicorn calls in its worker (`bench.apps:echo()`). Settings come from the environment the
harness sets: BENCH_TOKEN, BENCH_REDIS_URL, BENCH_WXBOT_SETTINGS (JSON)."""

from __future__ import annotations

import json
import os

TOKEN = os.environ.get("BENCH_TOKEN", "benchtoken")


def echo():
    """The floor: check the signature, parse the message, reply with its text. No state, no dedupe."""
    from flask import Flask, abort, request
    from wechatpy import create_reply, parse_message
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    app = Flask("echo")

    @app.post("/wechat")
    def wechat():
        try:
            check_signature(TOKEN, request.args["signature"], request.args["timestamp"], request.args["nonce"])
        except (KeyError, InvalidSignatureException):
            abort(403)
        message = parse_message(request.get_data())
        return create_reply(getattr(message, "content", ""), message).render()

    return app


def werobot():
    """WeRoBot as its documentation sets it up: its bottle app, its Redis session (read and
    written back on every message), a text handler that counts and echoes."""
    import redis
    import werobot as wr
    from werobot.session.redisstorage import RedisStorage

    robot = wr.WeRoBot(token=TOKEN, enable_session=True,
                       session_storage=RedisStorage(redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]),
                                                    prefix="werobot:"))

    @robot.text
    def echo_text(message, session):
        session["messages"] = session.get("messages", 0) + 1
        return message.content

    return robot.wsgi


def wxbot():
    """The product, built as `wxbot serve` builds it in each worker (app + background duties)."""
    from bot.app import create_app
    from bot.config import load_settings
    from bot.maintenance import start_maintenance

    settings = load_settings(None, **json.loads(os.environ["BENCH_WXBOT_SETTINGS"]))
    app = create_app(settings)
    start_maintenance(app.extensions["wxbot"])
    return app
