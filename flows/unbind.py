"""解除绑定: choose an active binding of either side (skipped when there is one) → confirm → unbind
→ result. Either party may end a binding (domain.md §3): the user as its initiator (a relative uses
the user's account: `unbind`) or as its member (a relative shares their account with the user:
`leave`, the same call to the bureau).

Whoever ends it here has this chat's reply as the receipt. The notification follows through the
decisions stream (the handler records the decision) to the other party only: the member, when the
user is the initiator (if the member uses this account too), else the relative who shared."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.engine import Ask, Data, Do, End, Entry, Flow, Text, refused, yes_or_no_answer
from flows.members import choosing_a_binding, chosen, shared_with_me, who
from flows.texts import services as t
from flows.understanding import Reading
from flows.understanding.lexicon import SERVICES

FLOW_ID = "unbind"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml


def _as_member(data: Data) -> bool:
    return shared_with_me(chosen(data))


def confirm_prompt(data: Data, ctx: Context) -> str:
    relationship, name = who(chosen(data))
    template = t.CONFIRM_LEAVE if _as_member(data) else t.CONFIRM_UNBIND
    return template.format(relationship=relationship, name=name)


parse_sure = yes_or_no_answer(t.UNBIND_YES_OR_NO, kind="unbind")


def _said(template: str, as_member: str = "") -> Text:
    def message(data: Data, ctx: Context) -> str:
        relationship, name = who(chosen(data))
        return (as_member if as_member and _as_member(data) else template).format(relationship=relationship, name=name)
    return message


def _confirmed(data: Data, ctx: Context) -> str:
    if not data["sure"]:
        return "kept"
    return "leave" if _as_member(data) else "unbind"


def start_data(reading: Reading | None, ctx: Context) -> dict[str, Any]:
    """The relative the request named (不想给我儿子用了, 我不想用我爸的医保了): the binding it fits is
    the one offered for confirmation, when only one fits."""
    kin = reading.kin_within if reading else None
    return {"relationship": kin.relationship} if kin and kin.relationship and not kin.typed else {}


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="UNBIND", outranks=("bind_member", "my_family"),
              start_data=start_data)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.UNBIND_TITLE, first="members", entry=ENTRY, steps={
    **choosing_a_binding(t.CHOOSE_TO_UNBIND, t.HELP_UNBIND, then="confirm"),
    "confirm": Ask(field="sure", prompt=confirm_prompt, parse=parse_sure, next=_confirmed,
                   to=("unbind", "leave", "kept"), help=t.HELP_UNBIND),
    "kept": End(message=_said(t.KEPT, t.KEPT_AS_MEMBER)),
    "unbind": Do(effect="unbind", args=lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                 on_ok=lambda d, c, member: ("done", {}), on_error=refused, to=("done",)),
    "done": End(message=_said(t.UNBOUND)),
    # The user is the binding's member: the same call, named apart for whom the decision is told.
    "leave": Do(effect="unbind_as_member", args=lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                on_ok=lambda d, c, member: ("left", {}), on_error=refused, to=("left",)),
    "left": End(message=_said(t.LEFT)),
})
