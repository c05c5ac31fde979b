"""The Flask application factory: wires settings, Redis, the webhook and the WeChat API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue

from bot import metrics
from bot.binding.callback import blueprint as callback_blueprint
from bot.binding.decisions import Decisions
from bot.binding.errors import BindingError
from bot.binding.factory import binding_service, signing_key
from bot.binding.service import BindingService
from bot.binding.signing import SigningKey
from bot.config import Settings
from bot.conversations.identities import Identities
from bot.logs import configure_for
from bot.store.client import connect
from bot.store.keys import Keys
from bot.store.ledger import DeliveryLedger
from bot.subscribe_page.views import install as install_subscribe_page
from bot.webhook.envelope import EnvelopeCodec
from bot.webhook.processing import Processor, Route, SendLate
from bot.webhook.queued import QueueCodec
from bot.webhook.views import blueprint as webhook_blueprint
from bot.wechat.client import WeChatAPI, wechat_api
from handlers.router import needs_user_lock


@dataclass
class Bot:
    """Everything a request needs, built once per process."""
    settings: Settings
    redis: redis.Redis
    keys: Keys
    codec: EnvelopeCodec
    ledger: DeliveryLedger
    processor: Processor
    wechat: WeChatAPI
    binding: BindingService
    binding_key: SigningKey
    decisions: Decisions


def create_app(settings: Settings, *, route: Route | None = None, binding: BindingService | None = None) -> Flask:
    configure_for(settings)
    client = connect(settings.redis)
    keys = Keys.of(settings)
    hook = settings.webhook

    wechat = wechat_api(settings, client)

    binding = binding or binding_service(settings, client)
    # The identity links: the conversation's, and how a decision finds a binding's member.
    identities = Identities(client, keys, settings.conversation.secret_key, days=settings.conversation.identity_days)
    decisions = Decisions(client, keys, identities)
    codec = EnvelopeCodec(settings.wechat, hook.timestamp_window)
    ledger = DeliveryLedger(client, keys, nonce_ttl=2 * hook.timestamp_window, lease=hook.processing_lease,
                            reply_ttl=hook.reply_cache_ttl, lock_ttl=hook.user_lock_ttl,
                            queue_max=hook.user_queue_max, rate_limit=hook.user_rate_limit,
                            rate_window=hook.user_rate_window, fast_client=connect(settings.redis, timeout=0.2),
                            nonce_apart=settings.redis.mode == "cluster")
    # The default router calls bot.store.session.calling_out(session) before anything that leaves the
    # process, so its steps may be tried on the request thread; a route given here is not.
    inline = route is None
    if route is None:
        route = default_router(settings, client, keys, binding, decisions, identities)
    processor = Processor(ledger=ledger, codec=codec, queue_codec=QueueCodec(settings.conversation.secret_key),
                          route=route, send_late=late_answers(settings, client, keys, wechat, binding),
                          threads=hook.handler_threads,
                          needs_user_lock=needs_user_lock, inline=inline,
                          inline_floor=4 * settings.redis.socket_timeout)

    app = Flask("wxbot")
    app.config["MAX_CONTENT_LENGTH"] = hook.max_body_bytes
    app.extensions["wxbot"] = Bot(settings, client, keys, codec, ledger, processor, wechat, binding=binding,
                                  binding_key=signing_key(settings), decisions=decisions)
    app.register_blueprint(webhook_blueprint)
    app.register_blueprint(callback_blueprint)
    install_subscribe_page(app, settings, client, wechat)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        try:
            client.ping()
        except redis.RedisError:
            return jsonify(status="degraded", redis="down"), 503
        return jsonify(status="ok", redis="ok")

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """Ready to serve: Redis and the binding service both answer. For deploys and start-up
        gating; the load balancer's check is /healthz (the bureau being down is every
        instance's problem, answered politely, not a reason to take them all out)."""
        checks = {"redis": _answers(client.ping), "binding": _answers(binding.health)}
        ready = all(state == "ok" for state in checks.values())
        return jsonify(status="ready" if ready else "not_ready", **checks), 200 if ready else 503

    @app.get("/metrics")
    def prometheus_metrics() -> ResponseReturnValue:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    return app


def _answers(check: Callable[[], object]) -> str:
    try:
        check()
    except (redis.RedisError, BindingError):
        return "down"
    return "ok"


def late_answers(settings: Settings, client: redis.Redis, keys: Keys, wechat: WeChatAPI,
                 binding: BindingService) -> SendLate:
    """Answers after the deadline, through the notification machinery: the record and its first
    attempt in this process, the retries in the workers (bot/notify/late.py)."""
    from bot.notify.late import Outbox
    from bot.notify.queue import NotificationQueue
    from bot.notify.records import NotificationRecords
    from bot.notify.sealed import Seal
    from bot.notify.send import Sender

    queue = NotificationQueue(client, settings)
    records = NotificationRecords(client, keys, Seal(settings.conversation.secret_key))
    return Outbox(queue, Sender(settings, queue, records, wechat, binding)).send


def default_router(settings: Settings, client: redis.Redis, keys: Keys, binding: BindingService,
                   decisions: Decisions, identities: Identities) -> Route:
    from bot.binding.guard import Guard
    from bot.conversations.store import ConversationStore
    from bot.notify.records import NotificationRecords
    from bot.notify.sealed import Seal
    from bot.notify.subscription_records import SubscriptionRecords
    from bot.store.session import calls_out, once_saved
    from bot.subscribe_page import subscribe_link
    from handlers.conversation import Conversations
    from handlers.router import Router

    secret = settings.conversation.secret_key
    store = ConversationStore(client, keys, secret, ttl=settings.conversation.expire_hours * 3600)
    guard = Guard(client, keys, settings.limits, identities.digest, binding)
    # The bureau and the decisions leave the process: a step on the request thread hands over
    # first; the milestones count once the message's draft is kept (bot/store/session.py).
    conversations = Conversations(store, identities, run_effect=calls_out(guard.run),
                                  follow_up=calls_out(decisions.follow_up), settings=settings,
                                  count_milestones=once_saved(metrics.flow_milestones),
                                  subscribe_link=subscribe_link(settings))
    return Router(conversations, NotificationRecords(client, keys, Seal(secret)),
                  SubscriptionRecords(client, keys, settings.notifications))

