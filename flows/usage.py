"""共济记录: my balance, the part family members may use, and what they spent lately."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flows.context import Context
from flows.engine import Data, Do, End, Entry, Flow, refused
from flows.texts import services as t
from flows.understanding.lexicon import SERVICES

FLOW_ID = "usage"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml
SHOWN = 10


def money(value: str) -> str:
    return f"{Decimal(value):,.2f}"


def record_line(record: Any, ctx: Context) -> str:
    at = ctx.local(record["at"]).strftime("%m-%d")
    return t.RECORD_LINE.format(at=at, name=record["member_masked_name"], place=record["place"],
                                amount=money(record["amount"]))


def render(data: Data, ctx: Context) -> str:
    usage = data["usage"]
    text = t.USAGE.format(balance=money(usage["balance"]), shareable=money(usage["shareable_balance"]))
    records = usage["records"]
    if not records:
        return f"{text}\n{t.NO_USAGE}"
    text += "\n" + t.USAGE_RECORDS.format(lines="\n".join(record_line(r, ctx) for r in records[:SHOWN]))
    return text + "\n" + t.MORE_LISTED.format(shown=SHOWN) if len(records) > SHOWN else text


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="USAGE", own_records=True)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.USAGE_TITLE, first="usage", entry=ENTRY, steps={
    "usage": Do(effect="usage", args=lambda d, c: {},
                on_ok=lambda d, c, usage: ("show", {"usage": {**usage, "records": usage["records"][:SHOWN + 1]}}),
                on_error=refused, to=("show",)),
    "show": End(message=render),
})
