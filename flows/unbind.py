"""解除绑定: choose an active member (skipped when there is one) → confirm → unbind → result.
The notification follows through the decisions stream (the handler records the decision)."""

from __future__ import annotations

from flows import service_texts as t
from flows.engine import Ask, Context, Do, End, Flow, yes_or_no_answer
from flows.members import chosen, choosing_a_member, who
from flows.refusals import refused

FLOW_ID = "unbind"
VERSION = 1


def confirm_prompt(data, ctx: Context) -> str:
    relationship, name = who(chosen(data))
    return t.CONFIRM_UNBIND.format(relationship=relationship, name=name)


parse_sure = yes_or_no_answer("请回复“是”解除，或回复“否”不解除。")


def _said(template: str):  # noqa: ANN202
    def message(data, ctx: Context) -> str:
        relationship, name = who(chosen(data))
        return template.format(relationship=relationship, name=name)
    return message


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.UNBIND_TITLE, first="members", steps={
    **choosing_a_member(t.CHOOSE_TO_UNBIND, t.HELP_UNBIND, then="confirm"),
    "confirm": Ask("confirm", "sure", confirm_prompt, parse_sure, lambda d, c: "unbind" if d["sure"] else "kept",
                   help=t.HELP_UNBIND, to=("unbind", "kept")),
    "kept": End("kept", _said(t.KEPT)),
    "unbind": Do("unbind", "unbind", lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                 lambda d, c, member: ("done", {}), refused, to=("done",)),
    "done": End("done", _said(t.UNBOUND)),
})
