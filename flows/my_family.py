"""我的家人: both sides of the user's bindings — the members the user shares their account with, and
the relatives who share theirs with the user (named as the user's relatives: a parent who bound
the user shows as 父母) — with status and masked ID, and the applications still open. All in one
reply: the lists are cut to fit WeChat's limit, saying how many were left out."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.engine import Data, Do, End, Entry, Flow, refused
from flows.members import MAX_LISTED, REPLY_BYTES, member_line, numbered, seen_by_member, who
from flows.texts import services as t
from flows.understanding.lexicon import SERVICES

FLOW_ID = "my_family"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml

OPEN = ("pending_consent", "under_review")


def _open_line(application: dict[str, Any], ctx: Context) -> str:
    relationship, name = who(application)
    return t.MEMBER_LINE.format(relationship=relationship, name=name, id_number=application["member_masked_id_number"],
                                status=t.APPLICATION_STATUS[application["status"]])


def _active_first(bindings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(bindings, key=lambda b: b["status"] != "active")   # stable: the service's order otherwise


def render(data: Data, ctx: Context) -> str:
    sections = [  # (heading, its lines' source, how one is shown)
        (t.MY_FAMILY, _active_first(data["members"]), member_line),
        (t.MY_SHARERS, _active_first([seen_by_member(s) for s in data.get("sharers", [])]), member_line),
        (t.MY_FAMILY_IN_PROGRESS, [a for a in data["applications"] if a["status"] in OPEN], _open_line),
    ]
    if not any(items for _, items, _ in sections):
        return t.NO_MEMBERS
    shown = [min(len(items), MAX_LISTED) for _, items, _ in sections]
    while True:
        parts = [heading.format(lines=numbered([line(item, ctx) for item in items[:count]]))
                 for (heading, items, line), count in zip(sections, shown, strict=True) if count]
        more = sum(len(items) for _, items, _ in sections) - sum(shown)
        if more:
            parts.append(t.MY_FAMILY_MORE.format(more=more))
        parts.append(t.MY_FAMILY_NEXT)
        text = "\n\n".join(parts)
        if len(text.encode()) <= REPLY_BYTES or sum(shown) <= 1:
            return text
        longest = max(range(len(shown)), key=lambda i: shown[i])
        shown[longest] -= 1   # the longest list gives up its last line first


# Asking about one's own records is a request for this service, even as a question (绑了谁？).
ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="MY_FAMILY", own_records=True, outranks=("bind_member",))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.MY_FAMILY_TITLE, first="members", entry=ENTRY, steps={
    "members": Do(effect="members", args=lambda d, c: {},
                  on_ok=lambda d, c, result: ("sharers", {"members": result["members"]}), on_error=refused,
                  to=("sharers",)),
    "sharers": Do(effect="sharers", args=lambda d, c: {},
                  on_ok=lambda d, c, result: ("applications", {"sharers": result["sharers"]}), on_error=refused,
                  to=("applications",)),
    "applications": Do(effect="applications", args=lambda d, c: {},
                       on_ok=lambda d, c, result: ("list", {"applications": result["applications"]}),
                       on_error=refused, to=("list",)),
    "list": End(message=render),
})
