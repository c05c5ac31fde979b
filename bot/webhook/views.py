"""HTTP face of the webhook: status codes for bad requests, a reply for every good one."""

from __future__ import annotations

import hashlib
import time

import redis
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot import metrics
from bot.logs import log, user_ref
from bot.webhook.envelope import Envelope, EnvelopeCodec, Rejected
from bot.webhook.inbound import parse_inbound
from bot.webhook.processing import SAFETY_MARGIN
from bot.webhook.replies import render
from flows.texts import apologies
from handlers.inbound import Inbound
from handlers.reply import Text

blueprint = Blueprint("wechat", __name__)


@blueprint.get("/wechat")
def verify_url() -> Response:
    bot = current_app.extensions["wxbot"]
    try:
        echostr = bot.codec.check_url(request.args)
        # The URL check's signature is the plaintext delivery's signature: spend its nonce, so that
        # it can never authorise a POST (nor be replayed as another URL check).
        use = URL_CHECK + hashlib.sha256(echostr.encode()).hexdigest()[:16]   # the same check again: fine
        if not bot.ledger.spend_nonce(bot.keys.nonce(request.args["signature"]), use):
            raise Rejected(403, "nonce already used")
    except Rejected as rejected:
        return _refuse(rejected)
    except redis.RedisError:
        log.warning("redis_unavailable", path="/wechat", method="GET")
        return _refuse(Rejected(503, "try again"))
    return Response(echostr, mimetype="text/plain")


URL_CHECK = "url-check:"   # what a nonce spent by a URL check is recorded with: no delivery's digest


@blueprint.post("/wechat")
def receive() -> Response:
    started = time.monotonic()
    bot = current_app.extensions["wxbot"]
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _refuse(Rejected(413, "body too large"), started)
    try:
        envelope = bot.codec.open(request.args, body)
        inbound = parse_inbound(envelope.xml)
    except Rejected as rejected:
        return _refuse(rejected, started)

    budget = bot.settings.webhook.reply_deadline
    try:
        # Plaintext signatures do not cover the body, so a nonce is bound to the body it first came
        # with; in safe mode msg_signature already covers it (and a retry may be re-encrypted).
        nonce = None if envelope.encrypted else (bot.keys.nonce(request.args["signature"]),
                                                 hashlib.sha256(body).hexdigest())
        delivery_key = bot.keys.delivery(inbound.openid, inbound.delivery_id)
        # A message for the user's conversation goes to their queue when their previous one holds
        # the lock (in the same round trip): it comes with what the lock holder needs to process it.
        locks_user = bot.processor.needs_user_lock(inbound)
        entry = bot.processor.queue_entry(delivery_key, envelope) if locks_user else ""
        admission = bot.ledger.admit(delivery_key, inbound.openid if locks_user else None, entry=entry,
                                     wait=budget - SAFETY_MARGIN - (time.monotonic() - started), nonce=nonce)
        remaining = budget - (time.monotonic() - started)
        if admission.status != "new":
            metrics.dedupe_hit(admission.status)
        if admission.status == "forged":
            return _refuse(Rejected(403, "nonce reused with another body"), started)
        outcome = "reply"
        if admission.status == "new":
            reply, outcome = bot.processor.reply_within(inbound, envelope, admission, remaining)
        elif admission.status == "done":
            reply = admission.body
        else:
            reply = bot.ledger.wait(admission.delivery_key, remaining - SAFETY_MARGIN)
        log.debug("delivery", status=admission.status, user_ref=user_ref(inbound.openid))
    except redis.RedisError:
        log.warning("redis_unavailable", path="/wechat")
        reply, outcome = _apology(bot.codec, inbound, envelope, apologies.BUSY), "busy"
    except Exception:  # noqa: BLE001 - an error page would show the user "无法提供服务"
        log.exception("webhook_failed", user_ref=user_ref(inbound.openid))
        reply, outcome = _apology(bot.codec, inbound, envelope, apologies.ERROR), "error"
    metrics.request_answered("success" if reply == "success" else outcome, time.monotonic() - started)
    return Response(reply, mimetype="application/xml" if reply != "success" else "text/plain")


def _apology(codec: EnvelopeCodec, inbound: Inbound, envelope: Envelope, text: str) -> str:
    """A polite answer that needs nothing but this process (Redis may be down)."""
    return codec.seal(render(Text(text), inbound), envelope)


def _refuse(rejected: Rejected, started: float | None = None) -> Response:
    log.info("request_rejected", status=rejected.status, reason=rejected.reason)
    if started is not None:  # a delivery (POST), not the URL check
        metrics.request_answered("rejected", time.monotonic() - started, rejected.status)
    return Response(rejected.reason, status=rejected.status, mimetype="text/plain")
