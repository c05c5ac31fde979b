"""A fake of WeChat's server API for the local run and the tests.

It speaks the real protocol for every endpoint the product uses — access tokens, jsapi_tickets,
customer-service and template messages, subscription notices, the custom menu, media — and checks
requests as WeChat does: token validity (40001), template values of at most 20 characters without
line breaks (47003),
`client_msg_id` repeats within 10 minutes dropped, users who do not follow (43004), the
customer-service window (45015), subscription notices only to users who subscribed (43101) with
values that fit their keywords' types. It records what was sent and can be told to fail; given the
account's webhook, it pushes what WeChat pushes on its own (a subscription pop-up's choices, a
notice's receipt).

protocol.py is WeChat's API; control.py the inspection and control endpoints under /fake/ (among
them the user's subscription pop-up); state.py what both read and change; pushes.py the events
pushed to the webhook.
"""

from __future__ import annotations

from flask import Flask

from bot.background import LOOPBACK_HOSTS
from bot.simulator.fake_wechat import control, protocol
from bot.simulator.fake_wechat.pushes import Pushes
from bot.simulator.fake_wechat.state import FakeWeChatState


def create_fake_wechat(appid: str, secret: str, enforce_window: bool = True, pushes: Pushes | None = None) -> Flask:
    """`pushes`: the account's webhook, for the events WeChat pushes on its own (subscription
    pop-ups, receipts of subscription notices); without it, none are pushed."""
    app = Flask("fake_wechat")
    app.config["TRUSTED_HOSTS"] = LOOPBACK_HOSTS
    app.extensions["fake_wechat"] = FakeWeChatState(appid, secret, enforce_window=enforce_window, pushes=pushes)
    app.register_blueprint(protocol.blueprint)
    app.register_blueprint(control.blueprint)
    return app
