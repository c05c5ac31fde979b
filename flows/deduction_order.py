"""扣款顺序: for a member shared by several initiators, whose account pays first. Choose the member
(skipped when there is one) → see the order → reorder (“2 1”, “我第一”) → confirm → saved."""

from __future__ import annotations

import re
from typing import Any

from flows.context import Context
from flows.engine import Ask, Data, Do, End, Entry, Flow, Invalid, refused, yes_or_no_answer
from flows.members import choosing_a_member, chosen, numbered, who
from flows.texts import services as t
from flows.understanding import read
from flows.understanding.lexicon import SERVICES
from flows.understanding.numbers import spoken_digits

FLOW_ID = "deduction_order"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml

ME_FIRST = frozenset(_WORDS["me_first"])   # 我第一: my account pays first
KEEP = frozenset(_WORDS["keep"])           # 不调整: the order stays as it is


def payer_lines(payers: Any) -> str:
    return numbered([p["initiator_masked_name"] + (t.ME if p["is_me"] else "") for p in payers])


def _example(payers: Any) -> str:
    return " ".join(str(i) for i in range(len(payers), 0, -1))


def _member_name(data: Data) -> str:
    return who(chosen(data))[1]


def _looked_up(data: Data, ctx: Context, order: Any) -> tuple[str, dict]:
    return ("show" if len(order["payers"]) > 1 else "only_me"), {"payers": order["payers"]}


def show(data: Data, ctx: Context) -> str:
    payers = data["payers"]
    return t.ORDER.format(name=_member_name(data), count=len(payers), lines=payer_lines(payers),
                          example=_example(payers))


def parse_order(text: str, data: Data, ctx: Context) -> list[str] | None:
    """The binding ids in the new order, or None to keep the order as it is."""
    payers, reading = data["payers"], read(text)
    word = reading.word
    ids = [p["binding_id"] for p in payers]
    if reading.yes_no() is False or word in KEEP:
        return None
    if word in ME_FIRST:
        new = sorted(ids, key=lambda i: not next(p["is_me"] for p in payers if p["binding_id"] == i))
    else:
        digits = spoken_digits(word)   # ASCII digits only: “2 1”, “21”, “二一”
        runs = re.findall(r"[0-9]+", digits)
        numbers = [int(n) for n in (runs[0] if len(runs) == 1 and len(runs[0]) == len(ids) else runs)]
        if sorted(numbers) != list(range(1, len(ids) + 1)):
            raise Invalid(t.BAD_ORDER.format(example=_example(payers)))
        new = [ids[n - 1] for n in numbers]
    return None if new == ids else new


def reordered(data: Data) -> list[dict]:
    by_id = {p["binding_id"]: p for p in data["payers"]}
    return [by_id[i] for i in data["new_order"]]


parse_sure = yes_or_no_answer(t.ORDER_YES_OR_NO)


# The order of the user's own member's payers: a question about it asks for it (先扣谁的？).
ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="DEDUCTION_ORDER", own_records=True)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.ORDER_TITLE, first="members", entry=ENTRY, steps={
    **choosing_a_member(t.CHOOSE_FOR_ORDER, t.HELP_ORDER, then="order"),
    "order": Do(effect="deduction_order", args=lambda d, c: {"binding_id": chosen(d)["binding_id"]},
                on_ok=_looked_up, on_error=refused, to=("show", "only_me")),
    "only_me": End(message=lambda d, c: t.ONLY_ME.format(name=_member_name(d))),
    "show": Ask(field="new_order", prompt=show, parse=parse_order,
                next=lambda d, c: "confirm" if d["new_order"] else "unchanged", to=("confirm", "unchanged"),
                help=t.HELP_ORDER),
    "confirm": Ask(field="sure", prompt=lambda d, c: t.CONFIRM_ORDER.format(lines=payer_lines(reordered(d))),
                   parse=parse_sure, next=lambda d, c: "save" if d["sure"] else "unchanged",
                   to=("save", "unchanged")),
    "unchanged": End(message=lambda d, c: t.ORDER_UNCHANGED),
    "save": Do(effect="set_deduction_order",
               args=lambda d, c: {"binding_id": chosen(d)["binding_id"], "order": d["new_order"]},
               on_ok=lambda d, c, order: ("saved", {"payers": order["payers"]}), on_error=refused, to=("saved",)),
    "saved": End(message=lambda d, c: t.ORDER_SAVED.format(name=_member_name(d), lines=payer_lines(d["payers"]))),
})
