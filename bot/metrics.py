"""Prometheus metrics: every definition in one place, and small helpers that record them.

Labels are small fixed sets — outcomes, statuses, flow and step ids — never an openid, a name or
anything a user typed.

Several processes count at once under `wxbot serve` (gunicorn's workers), so each one writes its
counts to files in $PROMETHEUS_MULTIPROC_DIR and the exposition adds the files up (prometheus_client's
multiprocess mode). That directory must be set before this module is first imported:
`bot.server.metrics_directory` does it for `wxbot serve` and `wxbot run`. Without it (`wxbot worker`,
one process with its sender threads; the tests) the counts live in this process's default registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

DIRECTORY = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# -- the webhook ---------------------------------------------------------------------------------
# WeChat gives up after 5 s; a normal reply takes milliseconds.
DEADLINE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0)
# A message may wait in its user's queue for several of their earlier messages.
QUEUE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

REQUESTS = Counter(
    "wxbot_webhook_requests", "POST /wechat by how it was answered: reply (a message), success (nothing, "
    "or the answer follows by customer-service message), rejected (400/403/413), busy (系统繁忙), error, "
    "limited (over the user's rate or queue: not processed)",
    ["outcome", "status"])
REQUEST_SECONDS = Histogram("wxbot_webhook_request_duration_seconds", "Time to answer POST /wechat",
                            buckets=DEADLINE_BUCKETS)
DEDUPE_HITS = Counter(
    "wxbot_webhook_dedupe_hits", "Deliveries the ledger had seen before, by what it held: done (the cached "
    "reply), pending (the first copy still working), queued (waiting in the user's queue), deferred (answered "
    "success), forged (nonce reused, 403)",
    ["status"])
HANDLERS_BUSY = Gauge("wxbot_webhook_handlers_busy", "Handler threads processing a delivery now",
                      multiprocess_mode="livesum")
LOCK_WAIT_SECONDS = Histogram("wxbot_user_lock_wait_seconds", "Time a message waited in its user's queue for their "
                              "earlier messages (one that found the user's lock free waited not at all)",
                              buckets=QUEUE_BUCKETS)
LIMITED = Counter(
    "wxbot_user_messages_limited", "Messages not processed, answered 'too fast': over the user's rate window "
    "(rate) or with their queue full (queue)", ["reason"])
DEADLINE_FALLBACKS = Counter("wxbot_webhook_deadline_fallbacks",
                             "Deliveries answered `success` at the deadline; the answer follows later")
LATE_REPLIES = Counter(
    "wxbot_webhook_late_replies", "Attempts at answers after the deadline (customer-service messages, through the "
    "notification machinery: webhook and worker), by result: sent, parked (shown with the user's next reply: "
    "45015/45047/43004), retry, dead_letter, paused (its API's quota), unrecorded (Redis did not answer for 10 minutes: lost)",
    ["result"])

# -- the conversations ---------------------------------------------------------------------------
FLOW_STARTS = Counter("wxbot_flow_starts", "Flows started (a new run: a click, a start word, 重新开始, a hand-over "
                      "from verification)", ["flow"])
FLOW_COMPLETIONS = Counter("wxbot_flow_completions", "Flows that reached an End step, by that step", ["flow", "step"])
FLOW_ABANDONMENTS = Counter(
    "wxbot_flow_abandonments", "Flows left before an End step, by the step and why: cancel, restart, "
    "resume_declined, switch, refused, limited, gone", ["flow", "step", "reason"])
FLOW_WAY_OUTS = Counter("wxbot_flow_way_out_offers", "Three wrong answers in a row at a step: the user was offered "
                        "help or 取消", ["flow", "step"])

LIMITS_REACHED = Counter(
    "wxbot_limits_reached", "Requests refused by the bot's own limits (bot/binding/guard.py), by window: "
    "people_per_day, codes_per_openid_hour, codes_per_person_hour, wrong_guesses_per_hour, "
    "wrong_codes_before_lock", ["limit"])

# -- notifications -------------------------------------------------------------------------------
NOTIFICATION_SENDS = Counter(
    "wxbot_notification_sends", "Notification attempts by result: sent (a template message or a subscription "
    "notice), parked (kept for the user's next message: they had unfollowed, or have no subscription to a kind "
    "sent only as a notice), retry (failed, will try again), dead_letter (failed its last attempt, or a permanent "
    "error), paused (waits for its API's quota to reset, no attempt spent), skipped (already sent), expired "
    "(no record)",
    ["outcome"])
NOTIFICATION_FAILURES = Counter(
    "wxbot_notification_failures", "Failed send attempts by cause: wechat (an errcode), http, network, token, "
    "binding_service, keyword (a value its keyword does not take: not sent), error (a bug: the worker's log has "
    "its traceback)", ["cause"])
NOTIFICATION_REPORTS = Counter(
    "wxbot_notification_reports", "WeChat's delivery reports (TEMPLATESENDJOBFINISH): delivered, delivery_failed, "
    "unmatched (no record for its msgid)", ["status"])

# -- the bureau's callbacks ----------------------------------------------------------------------
DECISIONS_REFUSED = Counter(
    "wxbot_callback_decisions_refused", "Callback decisions the bureau's own status did not confirm (never "
    "notified), by kind and why: not_decided, status_differs, binding_differs, application_differs, unknown",
    ["kind", "reason"])

for _outcome in ("reply", "success", "busy", "error", "limited"):
    REQUESTS.labels(_outcome, "200")
for _status in ("400", "403", "413"):
    REQUESTS.labels("rejected", _status)
for _status in ("done", "pending", "queued", "deferred", "forged"):
    DEDUPE_HITS.labels(_status)
for _reason in ("rate", "queue"):
    LIMITED.labels(_reason)
for _result in ("sent", "parked", "retry", "dead_letter", "paused", "unrecorded"):
    LATE_REPLIES.labels(_result)
for _outcome in ("sent", "parked", "retry", "dead_letter", "paused", "skipped", "expired"):
    NOTIFICATION_SENDS.labels(_outcome)
for _status in ("delivered", "delivery_failed", "unmatched"):
    NOTIFICATION_REPORTS.labels(_status)
for _kind, _differs in (("application.decided", "binding_differs"), ("binding.ended", "application_differs"),
                        ("binding.terminated", "application_differs")):
    for _reason in ("not_decided", "status_differs", _differs, "unknown"):
        DECISIONS_REFUSED.labels(_kind, _reason)


# -- helpers -------------------------------------------------------------------------------------
def request_answered(outcome: str, seconds: float, status: int = 200) -> None:
    REQUESTS.labels(outcome, str(status)).inc()
    REQUEST_SECONDS.observe(seconds)


def dedupe_hit(status: str) -> None:
    DEDUPE_HITS.labels(status).inc()


def queue_waited(seconds: float) -> None:
    """The user's previous message held the lock: this one waited `seconds` in their queue."""
    LOCK_WAIT_SECONDS.observe(seconds)


def user_limited(reason: str) -> None:
    LIMITED.labels(reason).inc()


def deadline_fallback() -> None:
    DEADLINE_FALLBACKS.inc()


def late_reply(result: str) -> None:
    LATE_REPLIES.labels(result).inc()


def limit_reached(limit: str) -> None:
    LIMITS_REACHED.labels(limit).inc()


def flow_milestones(milestones: Iterable) -> None:  # flows.engine.Milestone
    for mark in milestones:
        if mark.kind == "started":
            FLOW_STARTS.labels(mark.flow).inc()
        elif mark.kind == "completed":
            FLOW_COMPLETIONS.labels(mark.flow, mark.step).inc()
        elif mark.kind == "abandoned":
            FLOW_ABANDONMENTS.labels(mark.flow, mark.step, mark.reason).inc()
        elif mark.kind == "way_out":
            FLOW_WAY_OUTS.labels(mark.flow, mark.step).inc()


def notification_sent(outcome: str) -> None:
    NOTIFICATION_SENDS.labels(outcome).inc()


def notification_failed(cause: str, final: bool) -> None:
    NOTIFICATION_FAILURES.labels(cause).inc()
    NOTIFICATION_SENDS.labels("dead_letter" if final else "retry").inc()


def notification_paused(cause: str) -> None:
    """Postponed until its API's quota resets: WeChat said so (`wechat`), or the pause was known (`paused`)."""
    if cause != "paused":
        NOTIFICATION_FAILURES.labels(cause).inc()
    NOTIFICATION_SENDS.labels("paused").inc()


def delivery_report(status: str) -> None:
    NOTIFICATION_REPORTS.labels(status).inc()


def decision_refused(kind: str, reason: str) -> None:
    DECISIONS_REFUSED.labels(kind, reason).inc()


# -- exposition ----------------------------------------------------------------------------------
def registry() -> CollectorRegistry:
    """What /metrics shows: every process's files added up, or this process's own counts."""
    if not DIRECTORY:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def exposition() -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve(bind: str) -> None:
    """`wxbot worker --metrics-bind HOST:PORT`: /metrics on a thread of the worker's process,
    counting what its sender threads did."""
    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host or "0.0.0.0", registry=registry())  # noqa: S104 - as configured
