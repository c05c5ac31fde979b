"""Every flow, explored: from its start, every answer of a varied set at every question and every
result the binding service can give at every effect (each value that matters, each error code,
unavailable, the bot's own limit), breadth first until no new state turns up. Every transition
taken must be one the step declares (the engine refuses any other: UndeclaredTransition), and
every declared one must be taken by some path — a declaration cannot hold a dead edge.

The explorer calls `Engine.handle` itself instead of `Engine.run`: it branches on each effect's
result, where `run` would take one."""

from __future__ import annotations

from collections import deque
from datetime import date
from typing import Any

import pytest

from bot.binding.errors import ERRORS
from flows.catalog import ENGINE, FLOWS
from flows.context import Context, Region, User
from flows.engine import (
    TOO_MANY_ATTEMPTS,
    Conversation,
    EffectDone,
    Event,
    Outcome,
    Start,
    Transition,
    UserImage,
    UserText,
)
from tests.support.binding import ROSTER

ME = ROSTER["王建国"]            # the user: born 1962
SPOUSE = ROSTER["李秀英"]        # born 1964
SON = ROSTER["王小明"]           # born 1990
GRANDDAUGHTER = ROSTER["王朵朵"]  # born 2018: a minor
OLDER = ROSTER["孙梅"]           # born 1958: older than the user, so no child of theirs

# Answers for every question of every flow, each tried at every question: right ones, wrong
# ones, an image, an edit at the summary, a retry.
ANSWERS: tuple[Event, ...] = tuple(UserText(text) for text in (
    ME.name, ME.id_number, "123456",                                   # verify
    "老伴", "儿子", "孙女", "2", SPOUSE.name,                           # relationship, name
    SPOUSE.id_number, SON.id_number, GRANDDAUGHTER.id_number, OLDER.id_number,
    "是", "否", "同意", "不同意", "确认", "修改1", "修改3",               # checks, pledge, summary
    "1", "2 1", "我第一", "不调整",                                      # choosing, ordering
    "重试",
)) + (UserImage("m1"),)

ERROR_CODES = (*sorted(ERRORS), TOO_MANY_ATTEMPTS)
APPLICATION = {"application_id": "A1", "status": "approved", "reason": None, "consent": None}


def member(i: int, relationship: str, status: str = "active") -> dict[str, Any]:
    return {"binding_id": f"B{i}", "application_id": f"A{i}", "relationship": relationship, "masked_name": "李**",
            "masked_id_number": "3301**********0224", "status": status, "since": "2026-01-16T00:00:00+00:00",
            "ended_at": None, "end_reason": None}


def sharer(i: int, relationship: str, status: str = "active") -> dict[str, Any]:
    return {"binding_id": f"B{i}", "application_id": f"A{i}", "relationship": relationship,
            "initiator_masked_name": "王**", "initiator_masked_id_number": "3301**********0319", "status": status,
            "since": "2026-01-16T00:00:00+00:00", "ended_at": None, "end_reason": None}


def payers(count: int) -> dict[str, Any]:
    return {"member_masked_name": "李**", "payers": [
        {"binding_id": f"B{i}", "initiator_masked_name": "王**", "is_me": i == 0} for i in range(count)]}


# What each effect may answer, when it succeeds: one value for every way the flows route on it.
VALUES: dict[str, list[Any]] = {
    "start_verification": [{"challenge_id": "C1", "masked_phone": "138****0001"}],
    "complete_verification": [{"person_id": "P1", "masked_name": "王**", "masked_id_number": "3301**********0111",
                               "insurance": "employee", "region": "330100"}],
    "eligibility": [{"eligible": True, "reason": None, "shareable_balance": "100.00"},
                    {"eligible": False, "reason": "no_shareable_balance", "shareable_balance": "0.00"}],
    "submit_application": [APPLICATION, {**APPLICATION, "status": "under_review"},
                           {**APPLICATION, "status": "rejected", "reason": "proof_rejected"},
                           {**APPLICATION, "status": "pending_consent", "consent": {
                               "code": "ABC123", "url": "u", "expires_at": "2027-01-16T00:00:00+00:00"}}],
    "consent_request": [{"code": "ABC123", "initiator_masked_name": "王**", "member_masked_name": "李**",
                         "relationship": "spouse", "status": status, "expires_at": "2027-01-16T00:00:00+00:00"}
                        for status in ("pending_consent", "approved")],
    "answer_consent": [APPLICATION],
    "members": [{"members": []}, {"members": [member(1, "spouse"), member(2, "child", "ended")]},
                {"members": [member(1, "spouse"), member(2, "child")]}],
    "sharers": [{"sharers": []}, {"sharers": [sharer(3, "child")]},
                {"sharers": [sharer(3, "child"), sharer(4, "spouse", "ended")]}],
    "applications": [{"applications": []}],
    "deduction_order": [payers(1), payers(2)],
    "set_deduction_order": [payers(2)],
    "unbind": [member(1, "spouse", "ended")],
    "unbind_as_member": [member(3, "child", "ended")],
    "usage": [{"balance": "100.00", "shareable_balance": "50.00", "records": []}],
}


def results(effect: str) -> list[EffectDone]:
    return [EffectDone(effect, True, value) for value in VALUES[effect]] + \
        [EffectDone(effect, False, error=code) for code in ERROR_CODES]


def context(minor_proof_required: bool) -> Context:
    return Context(now=1_800_000_000.0, today=date(2027, 1, 15),
                   region=Region(minor_proof_required=minor_proof_required),
                   user=User(verified=True, fresh=True, person_id="P1", birth_date=date(1962, 3, 15),
                             id_digest=ME.id_number), hash_id_number=lambda number: number)


def start(flow_id: str) -> Start:
    return Start(flow_id, {"code": "ABC123"} if flow_id == "consent" else {"idempotency_key": "k" * 16})


def state(conv: Conversation) -> str:
    """What decides where a conversation can go next (not how it got there: history, retries)."""
    return repr((conv.flow, conv.step, conv.confirming, conv.clarify, conv.editing, sorted(conv.data.items()),
                 sorted(conv.prefill.items())))


def explore(flow_id: str, ctx: Context) -> set[Transition]:
    """Every transition taken on every path from the flow's start, breadth first."""
    taken: set[Transition] = set()
    seen: set[str] = set()
    waiting: deque[Outcome] = deque([ENGINE.handle(Conversation(), start(flow_id), ctx)])
    while waiting:
        outcome = waiting.popleft()
        taken.update(outcome.transitions)
        conv = outcome.conversation
        if conv.flow != flow_id or state(conv) + repr(outcome.effects) in seen:
            continue
        seen.add(state(conv) + repr(outcome.effects))
        if outcome.effects:
            [effect] = outcome.effects
            waiting.extend(ENGINE.handle(conv, done, ctx) for done in results(effect.name))
        else:
            waiting.extend(ENGINE.handle(conv, answer, ctx) for answer in ANSWERS)
    return taken


def declared(flow_id: str) -> set[Transition]:
    return {Transition(flow_id, step.id, target) for step in FLOWS[flow_id].steps.values()
            for target in getattr(step, "targets", ())}


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_every_transition_taken_is_declared_and_every_declared_one_is_taken(flow_id) -> None:
    taken = explore(flow_id, context(minor_proof_required=True)) | \
        explore(flow_id, context(minor_proof_required=False))
    assert taken <= declared(flow_id), f"undeclared: {taken - declared(flow_id)}"
    assert declared(flow_id) <= taken, f"declared, never taken: {declared(flow_id) - taken}"
