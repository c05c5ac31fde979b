"""What the services over existing bindings share: how a binding is shown, and choosing one of the
active ones (skipped when there is only one). The data are the binding service's masked views.

A binding has two sides. The user may be its initiator (a relative uses the user's account: the
service's `members`) or its member (a relative shares their account with the user: `sharers`).
`seen_by_member` turns a sharer into the same shape as a member, named as the user's relative
(王建国 bound 李秀英 as his 配偶: to her he is her 配偶; a child bound by a parent sees 父母), with
`role` "member"; a binding without a role is one the user initiated."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.domain.relationships import Relationship, inverse
from flows.engine import Ask, Data, Do, End, Invalid, Step, refused
from flows.texts import services as t
from flows.texts.relationships import LABELS
from flows.understanding import read

MAX_LISTED = 10     # a passive reply must stay short: WeChat cuts long texts
REPLY_BYTES = 2048  # WeChat's limit for a text reply
MEMBER = "member"   # the user's role in a binding a relative shares with them


def who(member: dict[str, Any]) -> tuple[str, str]:
    """(relationship label, masked name): the way a member is named in every reply."""
    relationship = member["relationship"]
    label = LABELS[Relationship(relationship)] if relationship else t.FAMILY_MEMBER
    return label, member.get("masked_name") or member["member_masked_name"]


def shared_with_me(binding: dict[str, Any]) -> bool:
    """A relative shares their account with the user (the user is the binding's member)."""
    return binding.get("role") == MEMBER


def seen_by_member(sharer: dict[str, Any]) -> dict[str, Any]:
    """A binding the user is the member of, as a member line shows it: the initiator, named as the
    user's relative."""
    turned = inverse(Relationship(sharer["relationship"]))
    return {"binding_id": sharer["binding_id"], "application_id": sharer.get("application_id"), "role": MEMBER,
            "relationship": turned.value if turned else "", "masked_name": sharer["initiator_masked_name"],
            "masked_id_number": sharer["initiator_masked_id_number"], "status": sharer["status"],
            "since": sharer["since"], "ended_at": sharer.get("ended_at"), "end_reason": sharer.get("end_reason")}


def day(iso: str, ctx: Context) -> str:
    return ctx.local(iso).strftime("%Y-%m-%d")


def member_line(member: dict[str, Any], ctx: Context) -> str:
    relationship, name = who(member)
    status = t.BINDING_STATUS.get(member["status"], member["status"])
    line = t.MEMBER_LINE.format(relationship=relationship, name=name, id_number=member["masked_id_number"],
                                status=status)
    if member["status"] == "active":
        return t.MEMBER_SINCE.format(line=line, since=day(member["since"], ctx))
    if not member.get("ended_at"):
        return line
    reasons = t.END_REASONS_AS_MEMBER if shared_with_me(member) else t.END_REASONS
    reason, ended = reasons.get(member.get("end_reason") or ""), day(member["ended_at"], ctx)
    return (t.MEMBER_ENDED_BECAUSE.format(line=line, reason=reason, ended=ended) if reason
            else t.MEMBER_ENDED.format(line=line, ended=ended))


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def active(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in members if m["status"] == "active"][:MAX_LISTED]


def choosing_a_member(prompt: str, help: str, then: str) -> dict[str, Step]:
    """The first steps of a service over one active member: look the members up; none → say so;
    one → straight on to `then`; several → ask which (`prompt` has a {lines} slot)."""
    def looked_up(data: Data, ctx: Context, result: Any) -> tuple[str, dict]:
        candidates = active(result["members"])
        if not candidates:
            return "none", {}
        if len(candidates) == 1:
            return then, {"members": candidates, "chosen": 0}
        return "choose", {"members": candidates}
    return {
        "members": Do(effect="members", args=lambda d, c: {}, on_ok=looked_up, on_error=refused,
                      to=("none", "choose", then)),
        "none": End(message=lambda d, c: t.NO_ACTIVE_MEMBERS),
        "choose": Ask(field="chosen", prompt=lambda d, c: prompt.format(lines=choices(d)), parse=parse_choice,
                      next=then, help=help),
    }


def choosing_a_binding(prompt: str, help: str, then: str) -> dict[str, Step]:
    """Like `choosing_a_member`, over the active bindings of both sides: the members the user shares
    with, then the relatives who share with the user. A relationship said when the service was
    asked for (`relationship`: 我不想用我爸的医保了) picks the one it fits, if only one does; `then`
    asks to confirm it in any case."""
    def members_found(data: Data, ctx: Context, result: Any) -> tuple[str, dict]:
        return "sharers", {"members": active(result["members"])}

    def sharers_found(data: Data, ctx: Context, result: Any) -> tuple[str, dict]:
        candidates = (data["members"] + [seen_by_member(s) for s in active(result["sharers"])])[:MAX_LISTED]
        if not candidates:
            return "none", {"members": []}
        named = [i for i, m in enumerate(candidates) if data.get("relationship") == m["relationship"]]
        if len(candidates) == 1 or len(named) == 1:
            return then, {"members": candidates, "chosen": named[0] if len(named) == 1 else 0}
        return "choose", {"members": candidates}
    return {
        "members": Do(effect="members", args=lambda d, c: {}, on_ok=members_found, on_error=refused,
                      to=("sharers",)),
        "sharers": Do(effect="sharers", args=lambda d, c: {}, on_ok=sharers_found, on_error=refused,
                      to=("none", "choose", then)),
        "none": End(message=lambda d, c: t.NO_ACTIVE_BINDINGS),
        "choose": Ask(field="chosen", prompt=lambda d, c: prompt.format(lines=choices(d)), parse=parse_choice,
                      next=then, help=help),
    }


def choice(member: dict[str, Any]) -> str:
    relationship, name = who(member)
    if shared_with_me(member):
        return t.CHOICE_AS_MEMBER.format(relationship=relationship, name=name)
    return " ".join((relationship, name))


def choices(data: Data) -> str:
    return numbered([choice(m) for m in data["members"]])


def parse_choice(text: str, data: Data, ctx: Context) -> int:
    """A number from the list (2, 第二个), or a relationship word that fits exactly one member (“老伴”)."""
    members, reading = data["members"], read(text)
    if reading.number is not None and 1 <= reading.number <= len(members):
        return reading.number - 1
    kin = reading.kin or reading.kin_within
    relation = kin.relationship if kin and not kin.typed else None
    fitting = [i for i, m in enumerate(members) if relation and m["relationship"] == relation]
    if len(fitting) == 1:
        return fitting[0]
    raise Invalid(t.BAD_CHOICE)


def chosen(data: Data) -> dict[str, Any]:
    return data["members"][data["chosen"]]
