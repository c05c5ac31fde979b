"""One attempt at one notification: a template message or a subscription notice for a decision, or
a customer-service message for a late answer, sent exactly once.

`attempt` returns whether the notification is settled — sent, parked for the user, dead, its retry
scheduled, or nothing left to do — so that its stream entry may be acknowledged; False when
another worker is sending it right now (the entry stays pending and is looked at again later).
A Redis error propagates: nothing is settled, the entry stays pending, the retry stays leased.
`settle` is the same for a notification already claimed: the webhook's first attempt at a late
answer (bot/notify/late.py `Outbox`).

Every call to WeChat goes through `Sender._post`, for every API (`APIS`): a paused API is not
called, and a failure is classified by bot/notify/errors.py. The kind's channel is chosen in
bot/notify/subscription.py, which posts its notices through the same `_post`; a late answer is
posted by bot/notify/late.py, through it too.
"""

from __future__ import annotations

import time
from functools import cached_property

import redis
import requests
from wechatpy.exceptions import WeChatClientException

from bot import metrics
from bot.binding import errors as binding_errors
from bot.binding.decisions import INITIATOR, MEMBER
from bot.binding.models import Decision
from bot.binding.service import BindingService
from bot.config import Settings
from bot.conversations.identities import Identities
from bot.logs import log, user_ref
from bot.notify import errors, late, subscription, templates
from bot.notify.errors import Failed, Failure, Kind
from bot.notify.queue import Begun, NotificationQueue
from bot.notify.records import NotificationRecords
from bot.wechat.client import WeChatAPI
from bot.wechat.token import TokenUnavailable

TEMPLATE_SEND = "message/template/send"
SUBSCRIBE_SEND = subscription.BIZSEND
CUSTOM_SEND = late.CUSTOM_SEND
# The WeChat APIs notifications are sent through, each paused on its own (a day's quota each).
APIS = (TEMPLATE_SEND, SUBSCRIBE_SEND, CUSTOM_SEND)
__all__ = ["APIS", "Failed", "Sender"]


class Sender:
    def __init__(self, settings: Settings, queue: NotificationQueue, records: NotificationRecords, wechat: WeChatAPI,
                 binding: BindingService) -> None:
        self.settings, self.queue, self.records = settings, queue, records
        self.wechat, self.binding = wechat, binding
        self.subscriptions = subscription.SubscriptionNotices(settings, records, self._post, self._pause)
        self.late = late.LateAnswers(queue, records, self._post)

    @cached_property
    def identities(self) -> Identities:
        """The identity links: who a binding's member is at the bureau, to name the one who shared."""
        conversation = self.settings.conversation
        return Identities(self.queue.redis, self.queue.keys, conversation.secret_key, days=conversation.identity_days)

    def attempt(self, notification_id: str, from_stream: bool, openid: str = "", decision: str = "",
                party: str = "") -> bool:
        """`party`: whose side of the decision this tells (a stream entry's; a retry's is on its record)."""
        return self.settle(notification_id, self.queue.begin(notification_id, from_stream, openid, decision, party))

    def settle(self, notification_id: str, begun: Begun) -> bool:
        """The attempt `begun` claimed, and what came of it (see attempt)."""
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
        except Failed as failed:
            outcome = self._failed(notification_id, begun, failed.failure, failed.api)
        except redis.RedisError:
            raise   # settled by nobody: the claim's lease runs out and the notification is tried again
        except Exception as exc:  # noqa: BLE001 - a bug must not loop for ever: it costs an attempt
            log.exception("notification_error", notification_id=notification_id)
            outcome = self._failed(notification_id, begun, errors.of_bug(type(exc).__name__))
        else:
            outcome = "parked" if msgid is None else "sent"
            log.info(f"notification_{outcome}", notification_id=notification_id, user_ref=user_ref(begun.openid),
                     attempt=begun.attempt, party=begun.kind or begun.party or INITIATOR)
            metrics.notification_sent(outcome)
        if begun.kind == late.KIND:
            metrics.late_reply(outcome)
        return True

    def _send(self, notification_id: str, begun: Begun) -> str | None:
        """The msgid WeChat gave the message ('' for a subscription notice or a late answer); None
        when it was parked for the user (43004, or no subscription to a kind sent only as a notice;
        45015/45047 for a late answer)."""
        if begun.kind == late.KIND:
            return self.late.send(notification_id, begun)
        decision = Decision.model_validate_json(begun.decision)
        application = self._seen_by_member(begun.openid, decision) if begun.party == MEMBER else None
        if application is None:
            try:
                application = self.binding.application(decision.application_id).model_dump(mode="json")
            except binding_errors.ApplicationNotFound:
                application = None
            except binding_errors.BindingError as exc:
                raise Failed(errors.of_binding_service(exc.code)) from None
        # The kind's channel: a subscription notice to a user who subscribed (msgid ''), and for the
        # others a template message or the news kept for them (bot/notify/subscription.py).
        channel = self.subscriptions.choose(notification_id, begun.openid, decision, application, begun.party)
        if channel == subscription.SENT:
            self.queue.sent(notification_id, begun.token, "")
            return ""
        if channel == subscription.PARK:
            return self._park(notification_id, begun, decision, application)
        kind = templates.KINDS[decision.status]
        try:
            body = templates.payload(begun.openid, notification_id, decision, application, self.settings.notifications,
                                     self.settings.region.zone, begun.party)
        except templates.ValueDoesNotFit as exc:
            raise Failed(errors.of_value(exc.reason)) from None
        result = self._post(TEMPLATE_SEND, body, template=f"notifications.{kind}",
                            fields=getattr(self.settings.notifications, kind).fields)
        if result is None:
            if channel == subscription.TEMPLATE_FOR_NOW:
                self._wait_for_notices()   # the notice reaches a user who does not follow: its reset
            return self._park(notification_id, begun, decision, application)
        msgid = str(result.get("msgid", ""))
        self.queue.sent(notification_id, begun.token, msgid)
        return msgid

    def _park(self, notification_id: str, begun: Begun, decision: Decision, application: dict | None) -> None:
        """The news waits for the user's next message: they do not follow the account (43004), or
        have no subscription to a kind sent only as a subscription notice."""
        self.records.park_for_user(notification_id, begun.openid,
                                   templates.as_text(decision, application, self.settings.region.zone, begun.party))
        self.queue.parked(notification_id, begun.token)

    def _wait_for_notices(self) -> None:
        """Failed (no attempt spent) until bizsend's pause ends, if it still holds."""
        paused = self.queue.paused(SUBSCRIBE_SEND)
        if paused is not None:
            raise Failed(Failure(Kind.QUOTA, paused.reason, "paused", paused.until), SUBSCRIBE_SEND)

    def _seen_by_member(self, openid: str, decision: Decision) -> dict | None:
        """The binding as its member sees it (a Sharer: the initiator's masked name, the relationship
        as declared), from the bureau by the member's own person id; None when it cannot be asked
        (their link lapsed meanwhile, the bureau no longer lists it): the application names no
        initiator, and the card says 您的家人. The bureau unavailable: Failed, retried."""
        identity = self.identities.get(openid)
        if not identity or not decision.binding_id:
            return None
        try:
            sharers = self.binding.sharers(identity["person_id"]).sharers
        except binding_errors.ServiceUnavailable as exc:
            raise Failed(errors.of_binding_service(exc.code)) from None
        except binding_errors.BindingError:
            return None
        return next((sharer.model_dump(mode="json") for sharer in sharers if sharer.binding_id == decision.binding_id),
                    None)

    def _post(self, api: str, body: dict, *, template: str, fields: dict[str, str]) -> dict | None:
        """WeChat's answer to one call; None when the user does not follow the account (43004).
        Failed says what went wrong, as bot/notify/errors.py classifies it; nothing is sent while
        the API is paused for its quota."""
        paused = self.queue.paused(api)
        if paused is not None:
            raise Failed(Failure(Kind.QUOTA, paused.reason, "paused", paused.until), api)
        try:
            return self.wechat.post(api, data=body)
        except WeChatClientException as exc:
            if exc.errcode == errors.UNFOLLOWED:
                return None
            if exc.errcode is not None:
                notifications = self.settings.notifications
                failure = errors.of_errcode(int(exc.errcode), exc.errmsg or "", template=template, fields=fields,
                                            now=time.time(), zone=self.settings.region.zone,
                                            quota_resume_at=notifications.quota_resume_at)
                if exc.response is None:
                    # Not the call's answer: fetching the access token failed (WeChatAPI.fetch_stable_token
                    # raises without a response). The token API's quota is not this API's to pause.
                    raise Failed(errors.of_token_fetch(failure), api) from None
                raise Failed(failure, api, errcode=int(exc.errcode)) from None
            raise Failed(errors.of_http(getattr(exc.response, "status_code", "?")), api) from None
        except TokenUnavailable as exc:
            raise Failed(errors.of_token(type(exc).__name__), api) from None
        except requests.RequestException as exc:
            # No chained context: it may carry the token-bearing URL.
            raise Failed(errors.of_network(type(exc).__name__), api) from None

    def _pause(self, api: str, failure: Failure) -> None:
        """WeChat said 45009 or 45011: every worker's sends through `api` wait until the reset
        (nothing to write when the pause was what stopped the call)."""
        if failure.cause == "paused" or failure.resume_at is None:
            return
        if self.queue.pause(api, failure.resume_at, failure.reason):
            log.warning("notifications_paused", api=api, until=failure.resume_at, reason=failure.reason)

    def _failed(self, notification_id: str, begun: Begun, failure: Failure, api: str = "") -> str:
        """This attempt failed. Permanent: a dead letter now. Quota or rate: the API paused for
        every worker and this notification due when it resumes, its attempt not counted. Token:
        due again after the first retry interval. Otherwise the next attempt after
        `retry_intervals`; after the last, a dead letter (`wxbot notify dead`). → paused | retry |
        dead_letter"""
        settings = self.settings.notifications
        if failure.kind in (Kind.QUOTA, Kind.RATE) and failure.resume_at is not None:
            self._pause(api, failure)
            self.queue.failed(notification_id, begun.token, failure.reason, final=False,
                              retry_in=max(0.0, failure.resume_at - time.time()), counted=False)
            log.info("notification_postponed", notification_id=notification_id, api=api, until=failure.resume_at)
            metrics.notification_paused(failure.cause)
            return "paused"
        final = failure.kind is Kind.PERMANENT or begun.attempt >= settings.max_attempts
        intervals = settings.retry_intervals or [0]
        step = 1 if failure.kind is Kind.TOKEN else min(begun.attempt, len(intervals))
        self.queue.failed(notification_id, begun.token, failure.reason, final, intervals[step - 1])
        log.warning("notification_failed", notification_id=notification_id, error=failure.reason, kind=failure.kind,
                    attempt=begun.attempt, final=final)
        metrics.notification_failed(failure.cause, final)
        return "dead_letter" if final else "retry"
