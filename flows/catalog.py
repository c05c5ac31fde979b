"""Every flow, by its stable id; and the engine that runs them. A new service is one flow module
(its steps and its `Entry`: phrases, menu key, start data) listed here, plus its texts."""

from flows import (bind_member, consent, deduction_order, faq, my_family, progress, texts, unbind, usage,
                   verify)
from flows.engine import Engine, Flow

FLOWS: dict[str, Flow] = {flow.id: flow for flow in (
    verify.FLOW, bind_member.FLOW, consent.FLOW, my_family.FLOW, progress.FLOW, unbind.FLOW,
    deduction_order.FLOW, usage.FLOW)}

# Every flow but verification touches the user's insurance data: it needs a verified identity.
NEEDS_IDENTITY = frozenset(FLOWS) - {verify.FLOW_ID}


def _faq_answer(text: str) -> str | None:
    entry = faq.match(text)
    return entry.answer if entry else None


def _faq_answer_to_a_statement(text: str) -> str | None:
    entry = faq.match(text, min_score=faq.MIN_SCORE_STATEMENT)
    return entry.answer if entry else None


ENGINE = Engine(FLOWS, answer_question=_faq_answer, answer_statement=_faq_answer_to_a_statement, needs_identity=NEEDS_IDENTITY, verify_flow=verify.FLOW_ID,
                no_answer=texts.UNKNOWN_QUESTION.format(topics=faq.topics()),
                human=faq.by_topic("人工服务和热线").answer)
