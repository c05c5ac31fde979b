"""One attempt at one notification: a template message or a subscription notice, sent exactly once.

`attempt` returns whether the notification is settled — sent, parked for the user, dead, its retry
scheduled, or nothing left to do — so that its stream entry may be acknowledged; False when
another worker is sending it right now (the entry stays pending and is looked at again later).
A Redis error propagates: nothing is settled, the entry stays pending, the retry stays leased.
"""

from __future__ import annotations

import redis
import requests
from wechatpy.exceptions import WeChatClientException

from bot import metrics
from bot.binding import errors as binding_errors
from bot.binding.models import Decision
from bot.binding.service import BindingService
from bot.config import Settings
from bot.logs import log, user_ref
from bot.notify import subscription, templates
from bot.notify.queue import Begun, NotificationQueue
from bot.notify.records import NotificationRecords
from bot.wechat.client import WeChatAPI
from bot.wechat.token import TokenUnavailable

UNFOLLOWED = 43004


class Failed(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(error)
        self.error, self.cause = error, cause   # cause, for metrics: wechat, http, network, token, binding_service


class Sender:
    def __init__(self, settings: Settings, queue: NotificationQueue, records: NotificationRecords, wechat: WeChatAPI,
                 binding: BindingService) -> None:
        self.settings, self.queue, self.records = settings, queue, records
        self.wechat, self.binding = wechat, binding
        self.subscriptions = subscription.SubscriptionNotices(settings, records, wechat)

    def attempt(self, notification_id: str, from_stream: bool, openid: str = "", decision: str = "") -> bool:
        begun = self.queue.begin(notification_id, from_stream, openid, decision)
        if begun.outcome == "busy":
            return False     # another worker holds its claim: it settles it, or its lease runs out
        if begun.outcome == "gone":
            metrics.notification_sent("expired")
            return True
        if begun.outcome == "done":
            metrics.notification_sent("skipped")
            return True
        if begun.outcome == "scheduled":
            return True      # a stream entry whose retry was scheduled before it was acknowledged
        try:
            msgid = self._send(notification_id, begun)
        except Failed as failure:
            self._failed(notification_id, begun, failure.error, failure.cause)
            return True
        except redis.RedisError:
            raise   # settled by nobody: the claim's lease runs out and the notification is tried again
        except Exception as exc:  # noqa: BLE001 - a bug must not loop for ever: it costs an attempt
            log.exception("notification_error", notification_id=notification_id)
            self._failed(notification_id, begun, type(exc).__name__, "error")
            return True
        if msgid is None:
            log.info("notification_parked", notification_id=notification_id, user_ref=user_ref(begun.openid))
            metrics.notification_sent("parked")
        else:
            log.info("notification_sent", notification_id=notification_id, user_ref=user_ref(begun.openid),
                     attempt=begun.attempt)
            metrics.notification_sent("sent")
        return True

    def _send(self, notification_id: str, begun: Begun) -> str | None:
        """The msgid WeChat gave the message ('' for a subscription notice); None when it was parked
        for the user (43004, or no subscription to a kind sent only as a notice)."""
        decision = Decision.model_validate_json(begun.decision)
        try:
            application = self.binding.application(decision.application_id).model_dump(mode="json")
        except binding_errors.ApplicationNotFound:
            application = None
        except binding_errors.BindingError as exc:
            raise Failed(f"binding service: {exc.code}", "binding_service") from None
        body = templates.payload(begun.openid, notification_id, decision, application, self.settings.notifications,
                                     self.settings.region.zone)
        try:
            # The kind's channel: a subscription notice to a user who subscribed (msgid ''), and for
            # the others a template message or the news kept for them (bot/notify/subscription.py).
            channel = self.subscriptions.choose(notification_id, begun.openid, decision, application)
            if channel == subscription.SENT:
                self.queue.sent(notification_id, begun.token, "")
                return ""
            if channel == subscription.PARK:
                return self._park(notification_id, begun, decision, application)
            result = self.wechat.post("message/template/send", data=body)
        except WeChatClientException as exc:
            if exc.errcode == UNFOLLOWED:
                self.records.park_for_user(notification_id, begun.openid, templates.as_text(decision, application,
                                                                                      self.settings.region.zone))
                self.queue.parked(notification_id, begun.token)
                return None
            if exc.errcode is not None:
                raise Failed(f"errcode {exc.errcode}", "wechat") from None
            raise Failed(f"HTTP {getattr(exc.response, 'status_code', '?')}", "http") from None
        except TokenUnavailable as exc:
            raise Failed(type(exc).__name__, "token") from None
        except requests.RequestException as exc:
            # No chained context: it may carry the token-bearing URL.
            raise Failed(type(exc).__name__, "network") from None
        msgid = str(result.get("msgid", ""))
        self.queue.sent(notification_id, begun.token, msgid)
        return msgid

    def _park(self, notification_id: str, begun: Begun, decision: Decision, application: dict | None) -> None:
        """The news waits for the user's next message, as for a user who unfollowed (43004): they
        have no subscription to a kind sent only as a subscription notice."""
        self.records.park_for_user(notification_id, begun.openid,
                                   templates.as_text(decision, application, self.settings.region.zone))
        self.queue.parked(notification_id, begun.token)

    def _failed(self, notification_id: str, begun: Begun, error: str, cause: str) -> None:
        """This attempt failed: the next one is scheduled after `retry_intervals`, or, after the
        last, the notification is a dead letter (`wxbot notify dead`)."""
        settings = self.settings.notifications
        final = begun.attempt >= settings.max_attempts
        intervals = settings.retry_intervals or [0]
        retry_in = intervals[min(begun.attempt, len(intervals)) - 1]
        self.queue.failed(notification_id, begun.token, error, final, retry_in)
        log.warning("notification_failed", notification_id=notification_id, error=error, attempt=begun.attempt)
        metrics.notification_failed(cause, final)
