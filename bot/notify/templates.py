"""A decision as a template message: WeChat takes at most 20 characters per value, one line each."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from bot.binding.models import Decision
from bot.config import NotificationSettings, RegionSettings, TemplateSettings
from flows.domain.relationships import Relationship
from flows.texts import notifications as t
from flows.texts.refusals import short_reason
from flows.texts.relationships import LABELS

MAX_VALUE = 20
SHANGHAI = RegionSettings().zone   # the default region's; callers pass settings.region.zone


def template_for(decision: Decision, settings: NotificationSettings) -> TemplateSettings:
    # An unbinding and an automatic termination are the same news: the relationship has ended.
    return {"approved": settings.approved, "rejected": settings.rejected,
            "ended": settings.terminated, "terminated": settings.terminated}[decision.status]


def values(decision: Decision, application: dict[str, Any] | None, zone: tzinfo = SHANGHAI) -> dict[str, str]:
    application = application or {}
    relationship = application.get("relationship")
    return {
        "member": application.get("member_masked_name") or t.SOMEONE,
        "relationship": LABELS[Relationship(relationship)] if relationship else t.FAMILY,
        "result": t.RESULTS[decision.status],
        "reason": short_reason(decision.reason) if decision.reason else t.NO_REASON,
        "decided_at": decision.decided_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "application": decision.application_id,
    }


def fit(value: str) -> str:
    value = " ".join(value.split())  # no line breaks
    return value if len(value) <= MAX_VALUE else value[:MAX_VALUE - 1] + "…"


def payload(openid: str, notification_id: str, decision: Decision, application: dict[str, Any] | None,
            settings: NotificationSettings, zone: tzinfo = SHANGHAI) -> dict[str, Any]:
    template = template_for(decision, settings)
    filled = values(decision, application, zone)
    body: dict[str, Any] = {
        "touser": openid, "template_id": template.template_id,
        "data": {keyword: {"value": fit(filled[source])} for keyword, source in template.fields.items()},
        # WeChat drops a repeat of the same openid + client_msg_id within 10 minutes.
        "client_msg_id": notification_id,
    }
    if settings.link:
        body["url"] = settings.link
    if settings.miniprogram:
        body["miniprogram"] = settings.miniprogram.model_dump()
    return body


def as_text(decision: Decision, application: dict[str, Any] | None, zone: tzinfo = SHANGHAI) -> str:
    """The same news as a line of chat, for a user who sees it at their next visit."""
    filled = values(decision, application, zone)
    if decision.status != "approved" and decision.reason:
        return t.AS_TEXT_WITH_REASON.format(**filled)   # the reason: its short form, as on the card
    return t.AS_TEXT.format(**filled)
