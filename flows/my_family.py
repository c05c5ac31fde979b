"""我的家人: the members bound to me with relationship, status and masked ID, and the ones whose
application is still open."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.engine import Data, Do, End, Entry, Flow, refused
from flows.members import MAX_LISTED, member_line, numbered, who
from flows.texts import services as t

FLOW_ID = "my_family"
VERSION = 1

OPEN = ("pending_consent", "under_review")


def _open_line(application: dict[str, Any]) -> str:
    relationship, name = who(application)
    return t.MEMBER_LINE.format(relationship=relationship, name=name, id_number=application["member_masked_id_number"],
                                status=t.APPLICATION_STATUS[application["status"]])


def render(data: Data, ctx: Context) -> str:
    members = data["members"][:MAX_LISTED]
    in_progress = [a for a in data["applications"] if a["status"] in OPEN][:MAX_LISTED]
    if not members and not in_progress:
        return t.NO_MEMBERS
    parts = []
    if members:
        parts.append(t.MY_FAMILY.format(lines=numbered([member_line(m, ctx) for m in members])))
    if in_progress:
        parts.append(t.MY_FAMILY_IN_PROGRESS.format(lines=numbered([_open_line(a) for a in in_progress])))
    parts.append(t.MY_FAMILY_NEXT)
    return "\n\n".join(parts)


# Asking about one's own records is a request for this service, even as a question (绑了谁？).
ENTRY = Entry(phrases=("我的家人", "我的共济", "共济成员", "我的家庭成员", "家人名单", "家人列表", "绑了谁", "绑了哪些",
                       "绑了几个", "绑定了谁", "绑定了哪些", "绑的谁", "绑的哪些", "都绑了", "绑了什么人", "我绑的",
                       "绑定的家人", "已绑定", "查家人", "看看家人", "查看家人", "家人有哪些", "给谁绑了", "给谁办了",
                       "共济了谁", "谁在用我的", "谁能用我的", "给谁开了", "给谁开", "都有谁", "有哪些人", "哪几个人",
                       "给哪些人", "几个人在用", "绑上的都有", "我家里绑", "绑定了几个", "绑了几个", "绑定了哪些",
                       "都绑了谁", "绑过谁", "绑过哪些", "已经绑了", "已经绑定的", "名下有", "看…家庭成员",
                       "查…家庭成员", "家庭成员有哪些", "绑了哪些", "哪几个…用我的", "哪些…在用我的", "现在…谁…用我的",
                       "绑了哪几", "绑了…哪几个", "绑了…哪些", "绑了…谁", "绑了…几个"),
              menu_key="MY_FAMILY", own_records=True, outranks=("bind_member",))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.MY_FAMILY_TITLE, first="members", entry=ENTRY, steps={
    "members": Do(effect="members", args=lambda d, c: {},
                  on_ok=lambda d, c, result: ("applications", {"members": result["members"]}), on_error=refused,
                  to=("applications",)),
    "applications": Do(effect="applications", args=lambda d, c: {},
                       on_ok=lambda d, c, result: ("list", {"applications": result["applications"]}),
                       on_error=refused, to=("list",)),
    "list": End(message=render),
})
