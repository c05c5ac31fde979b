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

FLOW_ID = "progress"
VERSION = 1
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


ENTRY = Entry(phrases=("办理进度", "进度", "查进度", "审核结果", "审核通过", "审核完", "审核得怎么样", "审核到哪",
                       "通过了没", "通过没", "通过了吗", "批了没", "批下来", "批准了没", "办好了没", "办好了吗", "办成了没",
                       "办成功了", "成功了没", "成功没", "成功了吗", "好了没有", "弄好了没", "办得怎么样", "结果出来",
                       "申请状态", "到哪一步", "有结果", "有消息", "什么结果", "绑上了没", "绑好了没", "绑成了没",
                       "绑定成功了吗", "绑定成功没", "同意了没", "确认了没", "审核好", "还没审核", "没审核",
                       "申请怎么样了", "提交的申请", "怎么样了", "过了没", "审核过", "办的…怎么样", "办得怎么样了",
                       "办的…过了", "办下来", "批下来了没", "通过没有", "还没消息", "没有消息", "没消息", "提交的…申请",
                       "申请…怎么还没"),
              menu_key="PROGRESS", own_records=True, outranks=("bind_member",))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.PROGRESS_TITLE, first="applications", entry=ENTRY, steps={
    "applications": Do(effect="applications", args=lambda d, c: {},
                       on_ok=lambda d, c, result: ("list", {"applications": result["applications"][:SHOWN + 1]}),
                       on_error=refused, to=("list",)),
    "list": End(message=render),
})
