"""A decision as a template message: each value fitted to its keyword's type (bot/notify/
keywords.py), one line each; and, at start-up, every value the bot can produce fitted to the
keywords the settings give it (`problems`) — a template message's and a subscription notice's
(bot/notify/subscription.py), the first within the template messages' 20 characters, the second
within its types' own limits."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.binding.decisions import MEMBER
from bot.binding.models import Decision
from bot.config import NotificationSettings, RegionSettings, Settings, SubscriptionSettings, TemplateSettings
from bot.notify import keywords
from flows.domain.identity import mask_name
from flows.domain.relationships import Relationship, inverse
from flows.texts import notifications as t
from flows.texts.refusals import SHORT, SHORT_AS_MEMBER, SHORT_UNKNOWN, short_reason
from flows.texts.relationships import LABELS

SHANGHAI = RegionSettings().zone   # the default region's; callers pass settings.region.zone
DECIDED_AT = "%Y-%m-%d %H:%M"
# Which template tells which decision. An unbinding and an automatic termination are the same
# news: the relationship has ended.
KINDS = {"approved": "approved", "rejected": "rejected", "ended": "terminated", "terminated": "terminated"}


class ValueDoesNotFit(ValueError):
    """A value its keyword does not take: the notification cannot be sent as configured. `setting`:
    the template's (approved, approved.subscription)."""

    def __init__(self, setting: str, keyword: str, source: str, problem: keywords.DoesNotFit) -> None:
        self.reason = f"notifications.{setting}.fields.{keyword}: {problem.about(source)}"
        super().__init__(self.reason)


def template_for(decision: Decision, settings: NotificationSettings) -> TemplateSettings:
    return getattr(settings, KINDS[decision.status])


def values(decision: Decision, application: dict[str, Any] | None, zone: tzinfo = SHANGHAI,
           party: str = "") -> dict[str, str]:
    """The values a decision's keywords are filled from, told to the initiator (`party` '') or to
    the binding's member (MEMBER). `application`: the bureau's view — the application, or for the
    member the binding as they see it (a Sharer: the initiator's masked name), else the application.
    Either's `relationship` is what the member is to the initiator: the member is told what the
    initiator is to them. `member` names the other party: the member, or for the member the
    initiator (the only name on the card; never anyone's own)."""
    application = application or {}
    relationship = application.get("relationship")
    as_member = party == MEMBER
    if as_member:
        turned = inverse(Relationship(relationship)) if relationship else None
        relationship = turned.value if turned else None
        other = application.get("initiator_masked_name")
    else:
        other = application.get("member_masked_name")
    return {
        "member": other or t.SOMEONE,
        "relationship": LABELS[Relationship(relationship)] if relationship else t.FAMILY,
        "result": t.RESULTS[decision.status],
        "reason": short_reason(decision.reason, as_member) if decision.reason else t.NO_REASON,
        "decided_at": decision.decided_at.astimezone(zone).strftime(DECIDED_AT),
        "application": decision.application_id,
    }


def fitted(setting: str, template: TemplateSettings | SubscriptionSettings, filled: dict[str, str],
           cap: int | None = keywords.TEMPLATE_CAP) -> dict[str, dict[str, str]]:
    """Each keyword's value as WeChat will take it; ValueDoesNotFit names the first that cannot be.
    `cap`: the template messages' 20 characters; None for a subscription notice (its types' limits)."""
    data = {}
    for keyword, source in template.fields.items():
        try:
            data[keyword] = {"value": keywords.fit(keyword, filled[source], cap)}
        except keywords.DoesNotFit as problem:
            raise ValueDoesNotFit(setting, keyword, source, problem) from None
    return data


def payload(openid: str, notification_id: str, decision: Decision, application: dict[str, Any] | None,
            settings: NotificationSettings, zone: tzinfo = SHANGHAI, party: str = "") -> dict[str, Any]:
    kind = KINDS[decision.status]
    template = getattr(settings, kind)
    body: dict[str, Any] = {
        "touser": openid, "template_id": template.template_id,
        "data": fitted(kind, template, values(decision, application, zone, party)),
        # WeChat drops a repeat of the same openid + client_msg_id within 10 minutes.
        "client_msg_id": notification_id,
    }
    if settings.link:
        body["url"] = settings.link
    if settings.miniprogram:
        body["miniprogram"] = settings.miniprogram.model_dump()
    return body


def as_text(decision: Decision, application: dict[str, Any] | None, zone: tzinfo = SHANGHAI,
            party: str = "") -> str:
    """The same news as a line of chat, for a user who sees it at their next visit."""
    filled = values(decision, application, zone, party)
    plain, with_reason = ((t.AS_TEXT_FOR_MEMBER, t.AS_TEXT_FOR_MEMBER_WITH_REASON) if party == MEMBER
                          else (t.AS_TEXT, t.AS_TEXT_WITH_REASON))
    if decision.status != "approved" and decision.reason:
        return with_reason.format(**filled)   # the reason: its short form, as on the card
    return plain.format(**filled)


# -- what each value can be, for the start-up check ------------------------------------------------
# The bureau's values are known by their shape only: a masked name keeps its first character and
# its separators (flows/domain/identity.py); an application id is letters and digits (any string
# the bureau chooses, up to 128 characters: its length is checked when a notification is sent).
MASKED_NAMES = tuple(mask_name(name) for name in ("王五", "王朵朵", "欧阳娜娜", "阿依古丽·买买提"))  # not wording: samples
APPLICATION_IDS = ("A5f3c8e21d0b94a77",)   # not wording: a sample of the bureau's ids


def possible_values(source: str, kind: str, settings: Settings) -> list[str]:
    """Every value (or, for the bureau's values, the shapes) `source` can fill a `kind` template with."""
    if source == "member":
        return [t.SOMEONE, *MASKED_NAMES]
    if source == "relationship":
        # As the initiator names the member, and as the member names the initiator (the inverse).
        named = [*settings.region.relationships, *filter(None, map(inverse, settings.region.relationships))]
        return [LABELS[relationship] for relationship in dict.fromkeys(named)] + [t.FAMILY]
    if source == "result":
        return sorted({t.RESULTS[status] for status, of_kind in KINDS.items() if of_kind == kind})
    if source == "reason":
        return [*SHORT.values(), *SHORT_AS_MEMBER.values(), SHORT_UNKNOWN, t.NO_REASON]
    if source == "decided_at":
        return [datetime(2026, 11, 22, 8, 5, tzinfo=UTC).astimezone(settings.region.zone).strftime(DECIDED_AT)]
    return list(APPLICATION_IDS)   # application: its shape; its length is checked when sent


def problems(settings: Settings) -> list[str]:
    """One line per keyword that a value the bot can produce would not fit: the template (a kind's
    template message, or its subscription notice), the keyword, the value's source, and why."""
    found = []
    for kind, template in settings.notifications.kinds().items():
        for keyword, source in template.fields.items():
            found += _first_misfit(kind, keyword, source, possible_values(source, kind, settings),
                                   keywords.TEMPLATE_CAP)
        if template.subscription is not None:   # checked even while its channel is "template"
            for keyword, source in template.subscription.fields.items():
                found += _first_misfit(f"{kind}.subscription", keyword, source,
                                       possible_values(source, kind, settings), None)
    return found


def _first_misfit(setting: str, keyword: str, source: str, candidates: list[str], cap: int | None) -> list[str]:
    # The longest first: "reason can be 10 characters" names the worst case.
    for value in sorted(candidates, key=len, reverse=True):
        try:
            keywords.fit(keyword, value, cap)
        except keywords.DoesNotFit as problem:
            return [f"notifications.{setting}.fields.{keyword}: {problem.about(source, value)}"]
    return []
