"""The browser simulator: a phone-like chat with the official account, its custom menu, photos and
template cards, beside the sandbox's desk (SMS codes, applications to approve or reject).

Every message goes through `Phone` to the real /wechat endpoint; the desk is the sandbox's own
reviewer, so a decision reaches the user by the product's real path (callback → decision →
notification queue → worker → WeChat API → the card in the chat). The views are in views.py.
"""

from __future__ import annotations

from flask import Flask

from bot.background import LOOPBACK_HOSTS
from bot.binding.sandbox.service import SandboxService
from bot.simulator.phone import Phone
from bot.simulator.views import Simulator, blueprint

MAX_PHOTO = 5 * 1024 * 1024


def create_simulator(phone: Phone, desk: SandboxService | None = None, account: str = "医保家庭共济") -> Flask:
    app = Flask("wxbot_simulator", static_folder=None)
    app.config["TRUSTED_HOSTS"] = LOOPBACK_HOSTS
    app.config["MAX_CONTENT_LENGTH"] = MAX_PHOTO
    app.extensions["simulator"] = Simulator(phone, desk, account)
    app.register_blueprint(blueprint)
    return app
