"""解除绑定: choose an active member (skipped when there is one) → confirm → unbind → result.
The notification follows through the decisions stream (the handler records the decision)."""

from __future__ import annotations

from flows import service_texts as t
from flows.answers import yes_or_no
from flows.engine import Ask, Context, Do, End, Flow, Invalid
from flows.members import after_members, choices, chosen, parse_choice, who
from flows.refusals import refusal

FLOW_ID = "unbind"
VERSION = 1


def confirm_prompt(data, ctx: Context) -> str:
    relationship, name = who(chosen(data))
    return t.CONFIRM_UNBIND.format(relationship=relationship, name=name)


def parse_sure(text: str, data, ctx: Context) -> bool:
    answer = yes_or_no(text)
    if answer is None:
        raise Invalid("请回复“是”解除，或回复“否”不解除。")
    return answer


def _said(template: str):  # noqa: ANN202
    def message(data, ctx: Context) -> str:
        relationship, name = who(chosen(data))
        return template.format(relationship=relationship, name=name)
    return message


def _failed(data, ctx, code: str) -> tuple[None, str]:
    return None, refusal(code)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.UNBIND_TITLE, first="members", steps={
    "members": Do("members", "members", lambda d, c: {}, after_members("choose", "confirm"), _failed,
                  to=("none", "choose", "confirm")),
    "none": End("none", lambda d, c: t.NO_ACTIVE_MEMBERS),
    "choose": Ask("choose", "chosen", lambda d, c: t.CHOOSE_TO_UNBIND.format(lines=choices(d)), parse_choice,
                  "confirm", help=t.HELP_UNBIND),
    "confirm": Ask("confirm", "sure", confirm_prompt, parse_sure, lambda d, c: "unbind" if d["sure"] else "kept",
                   help=t.HELP_UNBIND, to=("unbind", "kept")),
    "kept": End("kept", _said(t.KEPT)),
    "unbind": Do("unbind", "unbind", lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                 lambda d, c, member: ("done", {}), _failed, to=("done",)),
    "done": End("done", _said(t.UNBOUND)),
})
