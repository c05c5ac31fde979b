"""App factories that gunicorn loads in the multi-process tests.

They build the real app from the environment's settings with a handler that records, so that the
tests can observe, through Redis, how often and when each delivery was processed.
"""

from __future__ import annotations

import os
import time

import redis
from flask import Flask

from bot.app import create_app
from bot.config import load_settings
from flows import texts
from handlers.reply import Text

TRACE_KEY = "test:trace"


def traced_app() -> Flask:
    """Each processing appends "openid|content|pid|start|end" to a Redis list, after a delay."""
    settings = load_settings()
    observer = redis.Redis.from_url(settings.redis.url)
    delay = float(os.environ.get("TEST_HANDLER_DELAY", "0"))

    def route(inbound, session):
        start = time.time()
        time.sleep(delay)
        observer.rpush(TRACE_KEY, f"{inbound.openid}|{inbound.field('Content')}|{os.getpid()}|{start}|{time.time()}")
        return Text(texts.HELP)

    app = create_app(settings, route=route)

    @app.after_request
    def tag_worker(response):
        response.headers["X-Test-Worker"] = str(os.getpid())
        return response

    return app
