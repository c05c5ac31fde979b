"""办理进度: my recent applications and where each stands; one waiting for the member's consent
says how the member gives it."""

from __future__ import annotations

from datetime import datetime

from flows import service_texts as t
from flows.engine import Context, Do, End, Flow
from flows.members import day, numbered, who
from flows.refusals import refused, short_reason

FLOW_ID = "progress"
VERSION = 1
SHOWN = 5   # the newest; each may take three lines


def application_lines(application) -> str:
    relationship, name = who(application)
    status = application["status"]
    line = f"{relationship} {name}：{t.APPLICATION_STATUS[status]}"
    if status == "approved" and application.get("decided_at"):
        return f"{line}（{day(application['decided_at'])}）"
    if status == "rejected":
        return f"{line}，{short_reason(application.get('reason'))}"
    if status == "pending_consent" and application.get("consent"):
        consent = application["consent"]
        expires = datetime.fromisoformat(consent["expires_at"]).astimezone().strftime("%m月%d日 %H:%M")
        return line + "\n" + t.HOW_TO_CONSENT.format(name=name, code=consent["code"], url=consent["url"],
                                                     expires=expires)
    if status == "under_review":
        return line + "\n" + t.UNDER_REVIEW_NOTE
    return line


def render(data, ctx: Context) -> str:
    applications = data["applications"]
    if not applications:
        return t.NO_APPLICATIONS
    text = t.PROGRESS.format(lines=numbered([application_lines(a) for a in applications[:SHOWN]]))
    return text + "\n" + t.MORE_LISTED.format(shown=SHOWN) if len(applications) > SHOWN else text


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.PROGRESS_TITLE, first="applications", steps={
    "applications": Do("applications", "applications", lambda d, c: {},
                       lambda d, c, result: ("list", {"applications": result["applications"][:SHOWN + 1]}),
                       refused, to=("list",)),
    "list": End("list", render),
})
