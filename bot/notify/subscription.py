"""A notification as a subscription notice (订阅通知), for the kinds whose channel says so
(settings: notifications.<kind>.channel): `POST /cgi-bin/message/subscribe/bizsend` to a user who
subscribed to the kind's notice on the subscribe page. `choose` is where a notification takes its
channel: the notice went out (SENT); or, for a user without a subscription, what the kind says — a
template message (TEMPLATE: subscription_then_template) or the news kept for the user's next
message (PARK: subscription), as for a user who unfollowed.

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
- an answer with an errcode means nothing was sent. 43101 (no subscription, or the user cancelled
  it) corrects the user's record, and the kind's fallback follows.
One gap stays: two notices of one template to one user in flight at once, one of them in doubt —
the other's receipt would settle it. A user has a decision at a time.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from wechatpy.exceptions import WeChatClientException

from bot.binding.models import Decision
from bot.config import NotificationSettings, Settings, SubscriptionSettings
from bot.logs import log, user_ref
from bot.notify import subscription_values, templates
from bot.notify.records import NotificationRecords
from bot.notify.subscription_records import SubscriptionRecords
from bot.wechat.client import WeChatAPI

SENT, TEMPLATE, PARK = "sent", "template", "park"
NO_SUBSCRIPTION = 43101
ATTEMPT = "subscription_sent_at"   # the notification record's field: when a bizsend was last started


def payload(openid: str, decision: Decision, application: dict[str, Any] | None, notice: SubscriptionSettings,
            settings: NotificationSettings, zone: tzinfo) -> dict[str, Any]:
    """bizsend's body: each keyword's value shaped to its type's rule."""
    filled = templates.values(decision, application, zone)
    body: dict[str, Any] = {
        "touser": openid, "template_id": notice.template_id,
        "data": {keyword: {"value": subscription_values.fit(keyword, filled[source])}
                 for keyword, source in notice.fields.items()},
    }
    if settings.link:
        body["page"] = settings.link
    if settings.miniprogram:
        body["miniprogram"] = settings.miniprogram.model_dump()
    return body


class SubscriptionNotices:
    def __init__(self, settings: Settings, records: NotificationRecords, wechat: WeChatAPI) -> None:
        self.settings, self.notifications, self.wechat = settings, records, wechat
        self.subscribed = SubscriptionRecords(records.redis, records.keys, settings.notifications)

    def choose(self, notification_id: str, openid: str, decision: Decision,
               application: dict[str, Any] | None) -> str:
        """SENT, TEMPLATE or PARK. WeChat's errors other than 43101 propagate (the caller retries)."""
        kind = templates.template_for(decision, self.settings.notifications)
        if not kind.subscribes or kind.subscription is None:
            return TEMPLATE
        if self._send(notification_id, openid, decision, application, kind.subscription):
            return SENT
        fallback = TEMPLATE if kind.channel == "subscription_then_template" else PARK
        log.info("notification_not_subscribed", notification_id=notification_id, user_ref=user_ref(openid),
                 then=fallback)
        return fallback

    def _send(self, notification_id: str, openid: str, decision: Decision, application: dict[str, Any] | None,
              notice: SubscriptionSettings) -> bool:
        """Whether the notice went out (now, or by an earlier attempt whose answer was lost)."""
        started = (self.notifications.get(notification_id) or {}).get(ATTEMPT)
        if started and self.subscribed.receipt_since(openid, notice.template_id, float(started)):
            self.subscribed.spent(openid, notice.template_id, notice.long_term)
            return True
        if not self.subscribed.may_send(openid, notice.template_id, notice.long_term):
            return False
        self.notifications.update(notification_id, **{ATTEMPT: f"{time.time():.3f}"})
        body = payload(openid, decision, application, notice, self.settings.notifications, self.settings.region.zone)
        try:
            self.wechat.post("message/subscribe/bizsend", data=body)
        except WeChatClientException as exc:
            if exc.errcode is None:
                raise    # no answer of WeChat's (an HTTP error): in doubt, the receipt will tell
            self.notifications.update(notification_id, **{ATTEMPT: ""})   # WeChat answered: nothing was sent
            if exc.errcode != NO_SUBSCRIPTION:
                raise
            self.subscribed.refused(openid, notice.template_id)
            return False
        self.subscribed.spent(openid, notice.template_id, notice.long_term)
        return True
