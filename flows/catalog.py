"""Every flow, by its stable id."""

from flows import bind_member, consent, faq, verify
from flows.engine import Engine, Flow

FLOWS: dict[str, Flow] = {flow.id: flow for flow in (verify.FLOW, bind_member.FLOW, consent.FLOW)}

# Flows that touch the user's insurance data: they need a verified identity first.
NEEDS_IDENTITY = frozenset({bind_member.FLOW_ID, consent.FLOW_ID})



def _faq_answer(text: str) -> str | None:
    entry = faq.match(text)
    return entry.answer if entry else None


ENGINE = Engine(FLOWS, answer_question=_faq_answer, needs_identity=NEEDS_IDENTITY, verify_flow=verify.FLOW_ID)
