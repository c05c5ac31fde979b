"""我的家人: the members bound to me with relationship, status and masked ID, and the ones whose
application is still open."""

from __future__ import annotations

from flows import service_texts as t
from flows.engine import Context, Do, End, Flow
from flows.members import MAX_LISTED, member_line, numbered, who
from flows.refusals import refused

FLOW_ID = "my_family"
VERSION = 1

OPEN = ("pending_consent", "under_review")


def render(data, ctx: Context) -> str:
    members = data["members"][:MAX_LISTED]
    in_progress = [a for a in data["applications"] if a["status"] in OPEN][:MAX_LISTED]
    if not members and not in_progress:
        return t.NO_MEMBERS
    parts = []
    if members:
        parts.append(t.MY_FAMILY.format(lines=numbered([member_line(m) for m in members])))
    if in_progress:
        lines = [f"{' '.join(who(a))}（{a['member_masked_id_number']}）{t.APPLICATION_STATUS[a['status']]}"
                 for a in in_progress]
        parts.append(t.MY_FAMILY_IN_PROGRESS.format(lines=numbered(lines)))
    parts.append(t.MY_FAMILY_NEXT)
    return "\n\n".join(parts)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.MY_FAMILY_TITLE, first="members", steps={
    "members": Do("members", "members", lambda d, c: {},
                  lambda d, c, result: ("applications", {"members": result["members"]}), refused,
                  to=("applications",)),
    "applications": Do("applications", "applications", lambda d, c: {},
                       lambda d, c, result: ("list", {"applications": result["applications"]}), refused,
                       to=("list",)),
    "list": End("list", render),
})
