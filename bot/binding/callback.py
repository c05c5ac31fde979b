"""POST /binding/callback: the bureau tells the bot about decisions.

Signed like our requests to the bureau (bot.binding.signing). Bad signature → 401, a nonce seen
before → 409, a malformed body → 400; a valid decision → 200, recorded exactly once.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify, request
from pydantic import ValidationError

from bot.binding.models import Decision
from bot.binding.signing import SignatureError, verify
from bot.logs import log

blueprint = Blueprint("binding_callback", __name__)


@blueprint.post("/binding/callback")
def receive_decision():  # noqa: ANN201
    bot = current_app.extensions["wxbot"]
    body = request.get_data()
    window = bot.settings.binding.callback_window
    try:
        nonce = verify(bot.binding_key, "POST", request.path, body, request.headers, window)
    except SignatureError as exc:
        log.info("callback_rejected", status=401, reason=str(exc))
        return jsonify(error="unauthorized"), 401
    try:
        if not bot.redis.set(bot.keys.callback_nonce(nonce), 1, nx=True, ex=2 * window):
            log.info("callback_rejected", status=409, reason="replayed nonce")
            return jsonify(error="replayed"), 409
        try:
            decision = Decision.model_validate_json(body)
        except ValidationError:
            return jsonify(error="malformed decision"), 400
        first = bot.decisions.record(decision)
    except redis.RedisError:
        return jsonify(error="unavailable, retry later"), 503
    log.info("decision_received", application_id=decision.application_id, status=decision.status, first=first)
    return jsonify(recorded=first)
