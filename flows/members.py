"""What the services over existing bindings share: how a member is shown, and choosing one of the
active members (skipped when there is only one). The data are the binding service's masked views."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.domain.relationships import Relationship
from flows.engine import Ask, Data, Do, End, Invalid, Step, refused
from flows.texts import services as t
from flows.texts.relationships import LABELS
from flows.understanding import read

MAX_LISTED = 10   # a passive reply must stay short: WeChat cuts long texts


def who(member: dict[str, Any]) -> tuple[str, str]:
    """(relationship label, masked name): the way a member is named in every reply."""
    return LABELS[Relationship(member["relationship"])], member.get("masked_name") or member["member_masked_name"]


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
    reason, ended = t.END_REASONS.get(member.get("end_reason") or ""), day(member["ended_at"], ctx)
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


def choices(data: Data) -> str:
    return numbered([" ".join(who(m)) for m in data["members"]])


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
