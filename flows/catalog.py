"""Every flow, by its stable id; and the engine that runs them. A new service is one flow module
(its steps and its `Entry`: phrases, menu key, start data) listed here, plus its words: what it
says (a module of the catalogue, flows/texts/) and how people ask for it (its table in
flows/understanding/lexicon/services.toml)."""

from flows import (
    bind_member,
    consent,
    deduction_order,
    faq,
    my_family,
    progress,
    sign_out,
    texts,
    unbind,
    usage,
    verify,
)
from flows.engine import Engine, Flow

FLOWS: dict[str, Flow] = {flow.id: flow for flow in (
    verify.FLOW, bind_member.FLOW, consent.FLOW, my_family.FLOW, progress.FLOW, unbind.FLOW,
    deduction_order.FLOW, usage.FLOW, sign_out.FLOW)}

# Every flow but verification touches the user's insurance data: it needs a verified identity.
NEEDS_IDENTITY = frozenset(FLOWS) - {verify.FLOW_ID, sign_out.FLOW_ID}
# Creating or ending a binding needs a recent one too (a new code): a link made weeks ago on a
# shared phone must not be enough to hand out, or take away, someone's account.
NEEDS_FRESH_IDENTITY = frozenset({bind_member.FLOW_ID, unbind.FLOW_ID, consent.FLOW_ID})


def _faq_answer(text: str) -> str | None:
    entry = faq.match(text)
    return entry.answer if entry else None


def _faq_answer_to_a_statement(text: str) -> str | None:
    entry = faq.match(text, min_score=faq.MIN_SCORE_STATEMENT)
    return entry.answer if entry else None


ENGINE = Engine(FLOWS, answer_question=_faq_answer, answer_statement=_faq_answer_to_a_statement,
                needs_identity=NEEDS_IDENTITY, verify_flow=verify.FLOW_ID, needs_fresh_identity=NEEDS_FRESH_IDENTITY,
                no_answer=texts.UNKNOWN_QUESTION.format(topics=faq.topics()),
                human=faq.by_id("hotline").answer)
