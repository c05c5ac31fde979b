"""Random conversations against every flow (hypothesis): whatever the user types and whatever
the binding service answers, the engine never raises, the state stays valid, and no reply ever
shows an ID number unmasked."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.binding.errors import ERRORS
from bot.config import RegionSettings
from flows.catalog import ENGINE, FLOWS
from flows.context import Context, User
from flows.engine import Conversation, Effect, EffectDone, Start, UserImage, UserText
from tests.support.binding import ROSTER

ID_NUMBERS = [person.id_number for person in ROSTER.values()]
NAMES = [person.name for person in ROSTER.values()]
WORDS = ["是", "否", "同意", "不同意", "确认", "取消", "上一步", "返回", "帮助", "重新开始", "1", "2", "3", "7",
         "修改1", "修改3", "修改9", "老婆", "儿子", "岳母", "重试", "123456", "000000", "", "   ", "]]>", "😀"]
TEXT = st.one_of(st.sampled_from(WORDS + ID_NUMBERS + NAMES + [i.lower() for i in ID_NUMBERS]),
                 st.text(max_size=30))
# Now and then a menu click for another service, in the middle of whatever is going on.
CLICK = st.sampled_from(sorted(set(FLOWS) - {"consent"})).map(
    lambda flow: Start(flow, {"idempotency_key": "c" * 16} if flow == "bind_member" else {}))  # as the handler starts it
INPUT = st.one_of(TEXT.map(UserText), st.sampled_from(["m1", "m2"]).map(UserImage), CLICK)
# Runs of answers that fit, in the order a flow asks for them: one random input at a time rarely
# gets past a flow's second question, and the steps behind it (the code, the pledge, the summary,
# the new order, the confirmations) would never be reached.
YES_NO = st.sampled_from(["是", "否", "同意", "不同意"])
RUN = st.one_of(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(ID_NUMBERS), st.sampled_from(["123456", "0000"])),  # verify
    st.tuples(st.sampled_from(["老伴", "儿子", "孙女", "父母", "1", "2", "7"]), st.sampled_from(NAMES),  # bind_member
              st.sampled_from(ID_NUMBERS), *[st.sampled_from(["是", "否", "m1", "同意"])] * 2, YES_NO,
              st.sampled_from(["确认", "修改1", "修改3", "提交"])),
    st.tuples(st.sampled_from(["1", "2", "老伴", "儿子"]), YES_NO),  # unbind, consent: choose, confirm
    st.tuples(st.sampled_from(["1", "2"]), st.sampled_from(["2 1", "3 2 1", "我第一", "不调整", "1 2", "9"]),
              YES_NO),  # deduction_order: choose, order, confirm
).map(lambda answers: [UserImage(a) if a == "m1" else UserText(a) for a in answers])
INPUTS = st.lists(st.one_of(INPUT.map(lambda event: [event]), RUN), max_size=25).map(
    lambda runs: [event for run in runs for event in run])
ID_PATTERN = re.compile(r"\d{17}[\dXx]")


def effect_value(name: str, draw) -> Any:
    if name == "start_verification":
        return {"challenge_id": "C1", "masked_phone": "138****0001"}
    if name == "complete_verification":
        return {"person_id": "P1", "masked_name": "王**", "masked_id_number": "3301**********0111",
                "insurance": "employee", "region": "330100"}
    if name == "eligibility":
        eligible = draw(st.booleans())
        return {"eligible": eligible, "reason": None if eligible else "no_shareable_balance",
                "shareable_balance": "100.00"}
    if name in ("submit_application", "answer_consent"):
        status = draw(st.sampled_from(["approved", "pending_consent", "under_review", "rejected"]))
        return {"application_id": "A1", "status": status, "reason": "proof_rejected" if status == "rejected" else None,
                "consent": {"code": "ABC123", "url": "u", "expires_at": "2027-01-16T00:00:00+00:00"}
                if status == "pending_consent" else None}
    if name == "consent_request":
        return {"code": "ABC123", "initiator_masked_name": "王**", "member_masked_name": "李**",
                "relationship": "spouse", "status": draw(st.sampled_from(["pending_consent", "approved"])),
                "expires_at": "2027-01-16T00:00:00+00:00"}
    if name in ("members", "unbind", "unbind_as_member"):
        members = [{"binding_id": f"B{i}", "application_id": f"A{i}", "relationship": relationship,
                    "masked_name": "李**", "masked_id_number": "3301**********0224", "status": status,
                    "since": "2026-01-16T00:00:00+00:00",
                    "ended_at": None if status == "active" else "2026-06-01T00:00:00+00:00",
                    "end_reason": None if status == "active" else "ended_by_member"}
                   for i, (relationship, status) in enumerate(draw(st.lists(st.tuples(
                       st.sampled_from(["spouse", "child", "parent"]), st.sampled_from(["active", "ended", "terminated"])),
                       min_size=int(name != "members"), max_size=4)))]
        return {"members": members} if name == "members" else members[0]
    if name == "sharers":
        return {"sharers": [{"binding_id": f"B{i}", "application_id": f"A{i}", "relationship": relationship,
                             "initiator_masked_name": "王**", "initiator_masked_id_number": "3301**********0319",
                             "status": status, "since": "2026-01-16T00:00:00+00:00",
                             "ended_at": None if status == "active" else "2026-06-01T00:00:00+00:00",
                             "end_reason": None if status == "active" else "ended_by_initiator"}
                            for i, (relationship, status) in enumerate(draw(st.lists(st.tuples(
                                st.sampled_from(["child", "parent", "grandparent", "spouse"]),
                                st.sampled_from(["active", "ended", "terminated"])), max_size=3)), start=10)]}
    if name == "applications":
        return {"applications": [{**effect_value("submit_application", draw), "relationship": "child",
                                  "member_masked_name": "王**", "member_masked_id_number": "3301**********0319",
                                  "submitted_at": "2026-01-16T00:00:00+00:00", "decided_at": None}
                                 for _ in range(draw(st.integers(0, 7)))]}
    if name in ("deduction_order", "set_deduction_order"):
        count = draw(st.integers(1, 3))
        return {"member_masked_name": "李**", "payers": [
            {"binding_id": f"B{i}", "initiator_masked_name": "王**", "is_me": i == 0} for i in range(count)]}
    if name == "usage":
        return {"balance": "100.00", "shareable_balance": "50.00", "records": [
            {"at": "2026-01-16T00:00:00+00:00", "binding_id": "B1", "member_masked_name": "李**", "place": "药店",
             "amount": "12.30"} for _ in range(draw(st.integers(0, 12)))]}
    raise AssertionError(name)


def context(region: RegionSettings) -> Context:
    return Context(now=1_800_000_000.0, today=date(2027, 1, 15), region=region,
                   user=User(verified=True, birth_date=date(1962, 3, 15), id_digest=ID_NUMBERS[0]),
                   hash_id_number=lambda number: number)


@settings(max_examples=300, deadline=None)
@given(flow_id=st.sampled_from(sorted(FLOWS)), inputs=INPUTS, data=st.data(),
       region=st.builds(RegionSettings, minor_proof_required=st.booleans(), consent_age=st.sampled_from([14, 16, 18])))
def test_any_conversation_keeps_the_engine_sound(flow_id, inputs, data, region) -> None:
    ctx = context(region)
    def perform(effect: Effect) -> EffectDone:
        ok = data.draw(st.booleans(), label=f"{effect.name} ok")
        return (EffectDone(effect.name, True, effect_value(effect.name, data.draw)) if ok else
                EffectDone(effect.name, False, error=data.draw(st.sampled_from(sorted(ERRORS)))))

    start = {"code": "ABC123"} if flow_id == "consent" else {"idempotency_key": "k" * 16}
    conv = Conversation()
    for event in [Start(flow_id, start), *inputs]:
        outcome = ENGINE.run(conv, event, ctx, perform)
        check(outcome)
        conv = outcome.conversation


def check(outcome) -> None:
    conv = outcome.conversation
    if conv.active:
        flow = FLOWS[conv.flow]
        assert conv.step in flow.steps
        assert conv.version == flow.version
        assert conv.retries < 3
        assert all(step in flow.steps for step in conv.history)
        assert conv.switch_to is None or conv.confirming == "switch"
    else:
        assert conv == Conversation()
    # Drafts kept for later: one per flow, never the current one, each itself valid.
    paused = [draft.flow for draft in conv.paused]
    assert len(paused) == len(set(paused)) <= 3 and conv.flow not in paused
    assert all(draft.step in FLOWS[draft.flow].steps and not draft.paused for draft in conv.paused)
    for reply in outcome.replies:
        assert isinstance(reply, str) and reply
        assert not ID_PATTERN.search(reply), f"unmasked ID number in {reply!r}"
