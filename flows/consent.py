"""A member aged 16+ consents: the consent code → what they authorise → agree or decline.
The handler makes sure the member has verified who they are before this flow starts."""

from __future__ import annotations

from typing import Any

from flows.context import Context
from flows.domain.relationships import Relationship
from flows.engine import Ask, Data, Do, End, Entry, Flow, yes_or_no_answer
from flows.texts import consent as t
from flows.texts.refusals import refusal
from flows.texts.relationships import LABELS

FLOW_ID = "consent"
VERSION = 1


def _looked_up(data: Data, ctx: Context, request: Any) -> tuple[str, dict]:
    if request["status"] != "pending_consent":
        return "already", {"status": request["status"]}
    return "ask", {"request": request}


def ask(data: Data, ctx: Context) -> str:
    request = data["request"]
    return t.ASK.format(initiator=request["initiator_masked_name"],
                        relationship=LABELS[Relationship(request["relationship"])])


parse_answer = yes_or_no_answer(t.AGREE_OR_NOT, kind="pledge")

# Started by a consent code in any form: 同意 AB12CD, 我同意，ab12cd, the code alone, full-width.
ENTRY = Entry(recognises=lambda reading: reading.consent_code is not None,
              start_data=lambda reading, ctx: {"code": reading.consent_code} if reading else {})


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.TITLE, first="lookup", entry=ENTRY, steps={
    "lookup": Do(effect="consent_request", args=lambda d, c: {"code": d["code"]}, on_ok=_looked_up,
                 on_error=lambda d, c, code: (None, refusal(code)), to=("ask", "already")),
    "already": End(message=lambda d, c: t.ALREADY.format(status=t.STATUS.get(d["status"], d["status"]))),
    "ask": Ask(field="agree", prompt=ask, parse=parse_answer, next="answer", help=t.HELP),
    "answer": Do(effect="answer_consent", args=lambda d, c: {"code": d["code"], "agree": d["agree"]},
                 on_ok=lambda d, c, application: ("done", {"application": application}),
                 on_error=lambda d, c, code: (None, refusal(code)), to=("done",)),
    "done": End(message=lambda d, c: t.AGREED if d["agree"] else t.DECLINED),
})
