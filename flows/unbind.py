"""解除绑定: choose an active member (skipped when there is one) → confirm → unbind → result.
The notification follows through the decisions stream (the handler records the decision)."""

from __future__ import annotations

from flows.context import Context
from flows.engine import Ask, Data, Do, End, Entry, Flow, Text, refused, yes_or_no_answer
from flows.members import choosing_a_member, chosen, who
from flows.texts import services as t
from flows.understanding.lexicon import SERVICES

FLOW_ID = "unbind"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml


def confirm_prompt(data: Data, ctx: Context) -> str:
    relationship, name = who(chosen(data))
    return t.CONFIRM_UNBIND.format(relationship=relationship, name=name)


parse_sure = yes_or_no_answer(t.UNBIND_YES_OR_NO, kind="unbind")


def _said(template: str) -> Text:
    def message(data: Data, ctx: Context) -> str:
        relationship, name = who(chosen(data))
        return template.format(relationship=relationship, name=name)
    return message


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="UNBIND", outranks=("bind_member", "my_family"))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.UNBIND_TITLE, first="members", entry=ENTRY, steps={
    **choosing_a_member(t.CHOOSE_TO_UNBIND, t.HELP_UNBIND, then="confirm"),
    "confirm": Ask(field="sure", prompt=confirm_prompt, parse=parse_sure,
                   next=lambda d, c: "unbind" if d["sure"] else "kept", to=("unbind", "kept"), help=t.HELP_UNBIND),
    "kept": End(message=_said(t.KEPT)),
    "unbind": Do(effect="unbind", args=lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                 on_ok=lambda d, c, member: ("done", {}), on_error=refused, to=("done",)),
    "done": End(message=_said(t.UNBOUND)),
})
