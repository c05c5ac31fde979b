"""A fake of WeChat's server API for the local run and the tests.

It speaks the real protocol for every endpoint the product uses — access tokens, customer-service
and template messages, the custom menu, media — and checks requests as WeChat does: token
validity (40001), template values of at most 20 characters without line breaks (47003),
`client_msg_id` repeats within 10 minutes dropped, users who do not follow (43004), the
customer-service window (45015). It records what was sent and can be told to fail.

protocol.py is WeChat's API; control.py the inspection and control endpoints under /fake/;
state.py what both read and change.
"""

from __future__ import annotations

from flask import Flask

from bot.background import LOOPBACK_HOSTS
from bot.simulator.fake_wechat import control, protocol
from bot.simulator.fake_wechat.state import FakeWeChatState


def create_fake_wechat(appid: str, secret: str, enforce_window: bool = True) -> Flask:
    app = Flask("fake_wechat")
    app.config["TRUSTED_HOSTS"] = LOOPBACK_HOSTS
    app.extensions["fake_wechat"] = FakeWeChatState(appid, secret, enforce_window=enforce_window)
    app.register_blueprint(protocol.blueprint)
    app.register_blueprint(control.blueprint)
    return app
