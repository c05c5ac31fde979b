"""POST /binding/callback: the bureau tells the bot about decisions.

Signed like our requests to the bureau (bot.binding.signing). A signature proves who sent the
decision, not that it is true, so every decision is confirmed with the bureau's own status call
(bot.binding.confirm) before anyone is told. Answers:

- 200 `{"recorded": true|false}`: confirmed, and recorded exactly once (false: a repeat);
- 401 bad signature; 400 malformed decision; 409 a nonce already answered (a replay);
- 422 `{"error": "unconfirmed"}`: the bureau's status does not say what the decision says. The
  decision is kept among the refused (`wxbot binding refused`), logged (`decision_refused`) and
  counted (`wxbot_callback_decisions_refused_total`), never notified. A retry is checked afresh;
- 503: the bureau's status call (or Redis) is unavailable. Nothing is recorded and the nonce is
  not spent: the same request, or a new one, is accepted once the bureau answers again.

The nonce is spent only with an answer for good (200 or 422). Two copies racing past the nonce
check are harmless: a decision is recorded once whatever carries it (a refused one is kept twice).
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from bot import metrics
from bot.binding.confirm import Unconfirmed, confirmed
from bot.binding.errors import ServiceUnavailable
from bot.binding.models import Decision
from bot.binding.signing import SignatureError, verify
from bot.logs import log

blueprint = Blueprint("binding_callback", __name__)


@blueprint.post("/binding/callback")
def receive_decision() -> ResponseReturnValue:
    bot = current_app.extensions["wxbot"]
    body = request.get_data()
    window = bot.settings.binding.callback_window
    try:
        nonce = verify(bot.binding_key, "POST", request.path, body, request.headers, window)
    except SignatureError as exc:
        log.info("callback_rejected", status=401, reason=str(exc))
        return jsonify(error="unauthorized"), 401
    try:
        decision = Decision.model_validate_json(body)
    except ValidationError:
        return jsonify(error="malformed decision"), 400
    nonce_key = bot.keys.callback_nonce(nonce)
    try:
        if bot.redis.exists(nonce_key):
            log.info("callback_rejected", status=409, reason="replayed nonce")
            return jsonify(error="replayed"), 409
        try:
            checked = confirmed(bot.binding, decision)
        except ServiceUnavailable:
            log.warning("callback_rejected", status=503, reason="binding service unavailable",
                        application_id=decision.application_id)
            return jsonify(error="unavailable, retry later"), 503
        refusal = checked if isinstance(checked, Unconfirmed) else None
        if refusal is None:
            first = bot.decisions.record(checked)
        else:
            bot.decisions.refuse(decision, refusal.reason, refusal.bureau_status)
        bot.redis.set(nonce_key, 1, ex=2 * window)
    except redis.RedisError:
        return jsonify(error="unavailable, retry later"), 503
    if refusal is not None:
        metrics.decision_refused(decision.kind, refusal.reason)
        log.error("decision_refused", kind=decision.kind, application_id=decision.application_id,
                  binding_id=decision.binding_id, status=decision.status, reason=refusal.reason,
                  bureau_status=refusal.bureau_status)
        return jsonify(error="unconfirmed"), 422
    log.info("decision_received", application_id=decision.application_id, status=decision.status, first=first)
    return jsonify(recorded=first)
