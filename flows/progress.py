"""办理进度: my recent applications and where each stands; one waiting for the member's consent
says how the member gives it."""

from __future__ import annotations

from typing import Any

from flows import texts
from flows.context import Context
from flows.engine import Data, Do, End, Entry, Flow, refused
from flows.members import day, numbered, who
from flows.texts import services as t
from flows.texts.refusals import short_reason
from flows.understanding.lexicon import SERVICES

FLOW_ID = "progress"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml
SHOWN = 5   # the newest; each may take three lines


def application_lines(application: Any, ctx: Context) -> str:
    relationship, name = who(application)
    status = application["status"]
    line = t.APPLICATION_LINE.format(relationship=relationship, name=name, status=t.APPLICATION_STATUS[status])
    if status == "approved" and application.get("decided_at"):
        return t.APPLICATION_DECIDED.format(line=line, day=day(application["decided_at"], ctx))
    if status == "rejected":
        return t.APPLICATION_REJECTED.format(line=line, reason=short_reason(application.get("reason")))
    if status == "pending_consent" and application.get("consent"):
        consent = application["consent"]
        expires = ctx.local(consent["expires_at"]).strftime(texts.DAY_AND_TIME)
        return line + "\n" + t.HOW_TO_CONSENT.format(name=name, code=consent["code"], url=consent["url"],
                                                     expires=expires)
    if status == "under_review":
        return line + "\n" + t.UNDER_REVIEW_NOTE
    return line


def render(data: Data, ctx: Context) -> str:
    applications = data["applications"]
    if not applications:
        return t.NO_APPLICATIONS
    text = t.PROGRESS.format(lines=numbered([application_lines(a, ctx) for a in applications[:SHOWN]]))
    return text + "\n" + t.MORE_LISTED.format(shown=SHOWN) if len(applications) > SHOWN else text


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="PROGRESS", own_records=True, outranks=("bind_member",))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.PROGRESS_TITLE, first="applications", entry=ENTRY, steps={
    "applications": Do(effect="applications", args=lambda d, c: {},
                       on_ok=lambda d, c, result: ("list", {"applications": result["applications"][:SHOWN + 1]}),
                       on_error=refused, to=("list",)),
    "list": End(message=render),
})
