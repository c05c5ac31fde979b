"""我的家人: the members bound to me with relationship, status and masked ID, and the ones whose
application is still open."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.engine import Data, Do, End, Entry, Flow, refused
from flows.members import MAX_LISTED, member_line, numbered, who
from flows.texts import services as t
from flows.understanding.lexicon import SERVICES

FLOW_ID = "my_family"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml

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
ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="MY_FAMILY", own_records=True, outranks=("bind_member",))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.MY_FAMILY_TITLE, first="members", entry=ENTRY, steps={
    "members": Do(effect="members", args=lambda d, c: {},
                  on_ok=lambda d, c, result: ("applications", {"members": result["members"]}), on_error=refused,
                  to=("applications",)),
    "applications": Do(effect="applications", args=lambda d, c: {},
                       on_ok=lambda d, c, result: ("list", {"applications": result["applications"]}),
                       on_error=refused, to=("list",)),
    "list": End(message=render),
})
