"""A notification as a subscription notice (订阅通知), for the kinds whose channel says so
(settings: notifications.<kind>.channel): `POST /cgi-bin/message/subscribe/bizsend` to a user who
subscribed to the kind's notice on the subscribe page. `choose` is where a notification takes its
channel: the notice went out (SENT); or, for a user without a subscription, what the kind says — a
template message (TEMPLATE: subscription_then_template) or the news kept for the user's next
message (PARK: subscription), as for a user who unfollowed.

When the notice cannot go for now — bizsend paused for its quota (45009, until the reset) or its
per-minute limit (45011) — a subscription_then_template kind does not wait: the template message
goes instead (TEMPLATE_FOR_NOW), and the pause is written for every worker as the sender writes any
pause. Only a user who does not follow the account (43004 on the template message) waits for the
reset after all: the notice is what reaches them. A kind sent only as a notice waits for the reset.

Exactly once, without client_msg_id. bizsend has none, so WeChat would not drop a repeat. What
keeps a notice from going out twice:
- as for every notification, its claim and status (bot/notify/queue.py): no two workers send one
  notification at once, and a settled one is never sent again;
- a send whose answer was lost (a timeout, a worker killed in the call) is the case left. Before
  calling, the attempt is written on the notification's record (`subscription_sent_at`); an attempt
  that finds it there looks for WeChat's receipt — the subscribe_msg_sent_event WeChat pushes for
  every notice it sends, which the webhook records (bot/notify/subscription_records.py) — from that
  moment on. A receipt: the notice went out, and it is settled without calling again. None: it did
  not (the retry comes `retry_intervals` later, the receipt within a second or two), and it is sent;
- an answer with an errcode means nothing was sent, and so does a paused API or a missing access
  token: the attempt's mark is cleared. 43101 (no subscription, or the user cancelled it) corrects
  the user's record, and the kind's fallback follows.
The call goes through the sender's `_post` (bot/notify/send.py), as a template message's does:
bizsend has its own quota pause, and WeChat's other errors are classified by bot/notify/errors.py.
A value that breaks its keyword's rules — found before the call (bot/notify/keywords.py, by the
type's own limits: a notice has no 20-character cap) or by WeChat (47003) — and a template id
WeChat does not know (40036, 40037: the notice's `template_id` setting) fall back to the template
message when the kind's channel is subscription_then_template (a warning names the cause), and are a
dead letter with their reason when the kind is sent only as a notice.
One gap stays: two notices of one template to one user in flight at once, one of them in doubt —
the other's receipt would settle it. A user has a decision at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import tzinfo
from functools import cached_property
from typing import Any

from bot.binding.models import Decision
from bot.config import NotificationSettings, Settings, SubscriptionSettings
from bot.logs import log, user_ref
from bot.notify import errors, templates
from bot.notify.errors import Failed
from bot.notify.records import NotificationRecords
from bot.notify.subscription_records import SubscriptionRecords

SENT, TEMPLATE, PARK = "sent", "template", "park"
TEMPLATE_FOR_NOW = "template_for_now"   # the template message while bizsend is paused (see above)
BIZSEND = "message/subscribe/bizsend"
NO_SUBSCRIPTION = 43101
VALUE_REFUSED = 47003
# WeChat's answers that mean the notice as configured cannot go, to anyone: its values (47003), its
# template id (40036 invalid, 40037 not one of the account's). The kind's fallback, or a dead letter.
REFUSED = frozenset({VALUE_REFUSED, 40036, 40037})
ATTEMPT = "subscription_sent_at"   # the notification record's field: when a bizsend was last started

# The sender's one way to WeChat: (api, body, template=<its setting>, fields=<its keywords>) →
# WeChat's answer, None for 43004; Failed otherwise (bot/notify/send.py `Sender._post`).
Post = Callable[..., dict | None]
# The sender's way to pause an API for every worker: (api, failure) for a quota or rate Failure
# (bot/notify/send.py `Sender._pause`).
Pause = Callable[[str, errors.Failure], None]


def payload(openid: str, kind: str, decision: Decision, application: dict[str, Any] | None,
            notice: SubscriptionSettings, settings: NotificationSettings, zone: tzinfo,
            party: str = "") -> dict[str, Any]:
    """bizsend's body: each keyword's value fitted to its type's own limits (bot/notify/keywords.py,
    no 20-character cap); templates.ValueDoesNotFit names one that cannot be."""
    body: dict[str, Any] = {
        "touser": openid, "template_id": notice.template_id,
        "data": templates.fitted(f"{kind}.subscription", notice, templates.values(decision, application, zone, party),
                                 cap=None),
    }
    if settings.link:
        body["page"] = settings.link
    if settings.miniprogram:
        body["miniprogram"] = settings.miniprogram.model_dump()
    return body


class SubscriptionNotices:
    def __init__(self, settings: Settings, records: NotificationRecords, post: Post, pause: Pause) -> None:
        self.settings, self.notifications, self.post, self.pause = settings, records, post, pause

    @cached_property
    def subscribed(self) -> SubscriptionRecords:
        return SubscriptionRecords(self.notifications.redis, self.notifications.keys, self.settings.notifications)

    def choose(self, notification_id: str, openid: str, decision: Decision,
               application: dict[str, Any] | None, party: str = "") -> str:
        """SENT, TEMPLATE, TEMPLATE_FOR_NOW or PARK. Failed for what the attempt cannot settle (the
        sender retries, pauses or makes a dead letter of it, as bot/notify/errors.py says). `party`:
        whose side of the decision it tells (bot/notify/templates.py `values`)."""
        kind = templates.KINDS[decision.status]
        settings = getattr(self.settings.notifications, kind)
        if not settings.subscribes or settings.subscription is None:
            return TEMPLATE
        fallback = TEMPLATE if settings.channel == "subscription_then_template" else PARK
        try:
            sent = self._send(notification_id, openid, kind, decision, application, settings.subscription, party)
        except templates.ValueDoesNotFit as exc:
            return self._refused(notification_id, openid, fallback, errors.of_value(exc.reason))
        except Failed as failed:
            if failed.errcode in REFUSED:
                return self._refused(notification_id, openid, fallback, failed.failure, failed)
            if failed.failure.kind in (errors.Kind.QUOTA, errors.Kind.RATE) and fallback == TEMPLATE:
                return self._paused(notification_id, openid, failed)
            raise
        if sent:
            return SENT
        log.info("notification_not_subscribed", notification_id=notification_id, user_ref=user_ref(openid),
                 then=fallback)
        return fallback

    def _paused(self, notification_id: str, openid: str, failed: Failed) -> str:
        """bizsend waits for its quota or its minute: the pause written for every worker, and the
        template message now (a user who does not follow waits for the reset: bot/notify/send.py)."""
        self.pause(failed.api or BIZSEND, failed.failure)
        log.info("subscription_notice_paused", notification_id=notification_id, user_ref=user_ref(openid),
                 error=failed.failure.reason, then=TEMPLATE)
        return TEMPLATE_FOR_NOW

    def _refused(self, notification_id: str, openid: str, fallback: str, failure: errors.Failure,
                 failed: Failed | None = None) -> str:
        """The notice as configured cannot go (its values, its template id): the template message
        instead, or, for a kind sent only as a notice, Failed (permanent: a dead letter with the
        reason)."""
        if fallback != TEMPLATE:
            raise failed or Failed(failure)
        log.warning("subscription_notice_refused", notification_id=notification_id, user_ref=user_ref(openid),
                    error=failure.reason, then=fallback)
        return TEMPLATE

    def _send(self, notification_id: str, openid: str, kind: str, decision: Decision,
              application: dict[str, Any] | None, notice: SubscriptionSettings, party: str = "") -> bool:
        """Whether the notice went out (now, or by an earlier attempt whose answer was lost)."""
        started = (self.notifications.get(notification_id) or {}).get(ATTEMPT)
        if started and self.subscribed.receipt_since(openid, notice.template_id, float(started)):
            self.subscribed.spent(openid, notice.template_id, notice.long_term)
            return True
        if not self.subscribed.may_send(openid, notice.template_id, notice.long_term):
            return False
        body = payload(openid, kind, decision, application, notice, self.settings.notifications,
                       self.settings.region.zone, party)
        self.notifications.update(notification_id, **{ATTEMPT: f"{time.time():.3f}"})
        try:
            result = self.post(BIZSEND, body, template=f"notifications.{kind}.subscription", fields=notice.fields)
        except Failed as failed:
            if failed.in_doubt:
                raise    # no answer of WeChat's: in doubt, the receipt will tell
            self.notifications.update(notification_id, **{ATTEMPT: ""})   # nothing was sent
            if failed.errcode != NO_SUBSCRIPTION:
                raise
            self.subscribed.refused(openid, notice.template_id)
            return False
        if result is None:   # 43004: not WeChat's answer to a notice, but nothing was sent
            self.notifications.update(notification_id, **{ATTEMPT: ""})
            return False
        self.subscribed.spent(openid, notice.template_id, notice.long_term)
        return True
