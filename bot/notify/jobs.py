"""The notification job: send one template message, exactly once.

Exactly once, even when the job runs twice (a worker killed after WeChat accepted the message,
a dead letter retried): the record says whether it was sent, RQ runs one job id in one worker at
a time, and `client_msg_id` makes WeChat drop a repeat of a send whose answer was lost.
"""

from __future__ import annotations

from typing import NoReturn

import requests
from wechatpy.exceptions import WeChatClientException

from bot import metrics
from bot.binding import errors as binding_errors
from bot.binding.models import Decision
from bot.logs import log, user_ref
from bot.notify import runtime, templates
from bot.notify.records import DONE, FAILED, QUEUED
from bot.wechat.token import TokenUnavailable

UNFOLLOWED = 43004


class SendFailed(Exception):
    """Raised so that RQ retries the job (and, after the last attempt, keeps it as a dead letter)."""


def send_notification(notification_id: str) -> str:
    rt = runtime.current()
    record = rt.records.get(notification_id)
    if record is None:
        metrics.notification_sent("expired")
        return "unknown"
    if record["status"] in DONE:
        metrics.notification_sent("skipped")
        return record["status"]
    decision = Decision.model_validate_json(record["decision"])
    openid = record["openid"]
    attempt = rt.records.attempt(notification_id)
    try:
        application = rt.binding.application(decision.application_id).model_dump(mode="json")
    except binding_errors.ApplicationNotFound:
        application = None
    except binding_errors.BindingError as exc:
        _failed(rt, notification_id, attempt, f"binding service: {exc.code}", "binding_service")
    body = templates.payload(openid, notification_id, decision, application, rt.settings.notifications,
                             rt.settings.region.zone)
    try:
        result = rt.wechat.post("message/template/send", data=body)
    except WeChatClientException as exc:
        if exc.errcode == UNFOLLOWED:
            rt.records.park_for_user(notification_id, openid, templates.as_text(decision, application,
                                                                                       rt.settings.region.zone))
            log.info("notification_parked", notification_id=notification_id, user_ref=user_ref(openid))
            metrics.notification_sent("parked")
            return "waiting_for_user"
        if exc.errcode is not None:
            _failed(rt, notification_id, attempt, f"errcode {exc.errcode}", "wechat")
        _failed(rt, notification_id, attempt, f"HTTP {getattr(exc.response, 'status_code', '?')}", "http")
    except (requests.RequestException, TokenUnavailable) as exc:
        _failed(rt, notification_id, attempt, type(exc).__name__,
                "token" if isinstance(exc, TokenUnavailable) else "network")
    rt.records.sent(notification_id, str(result.get("msgid", "")))
    log.info("notification_sent", notification_id=notification_id, user_ref=user_ref(openid), attempt=attempt)
    metrics.notification_sent("sent")
    return "sent"


def _failed(rt: runtime.Runtime, notification_id: str, attempt: int, error: str, cause: str) -> NoReturn:
    """Record the failure and raise, so that RQ tries again (or, after the last attempt, keeps
    the job as a dead letter). `cause` is the failure's kind for metrics: wechat, http, network,
    token, binding_service."""
    final = attempt >= rt.settings.notifications.max_attempts
    rt.records.update(notification_id, status=FAILED if final else QUEUED, last_error=error)
    log.warning("notification_failed", notification_id=notification_id, error=error, attempt=attempt)
    metrics.notification_failed(cause, final)
    raise SendFailed(error) from None  # no chained context: it may carry the token-bearing URL
