"""Properties of understanding, over inputs nobody wrote down (hypothesis):
- no message that is not a name is ever stored as a name (asking first is fine: nothing is stored
  until the user says yes);
- no message raises, at any step — digits of other scripts (𐩀, ٣, ²) at the steps that expect
  numbers included."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import RegionSettings
from flows import faq
from flows.catalog import ENGINE, FLOWS
from flows.context import Context, User
from flows.engine import Ask, Conversation, UserText
from flows.understanding.kinship import KINDS
from flows.understanding.lexicon import WORDS
from tests.support.binding import ROSTER

CTX = Context(now=1_800_000_000.0, today=date(2027, 1, 15), region=RegionSettings(),
              user=User(verified=True, birth_date=date(1962, 3, 15)))

# Everything people say that is not a name: the moves, yes and no, relatives, services, questions.
NOT_NAMES = sorted({*(w for move in WORDS["move"].values() for w in move["words"] + move["phrases"]),
                    *WORDS["answer"]["yes"], *WORDS["answer"]["no"], *WORDS["fillers"], *WORDS["polite"],
                    *KINDS, *(p for flow in FLOWS.values() if flow.entry for p in flow.entry.phrases if "…" not in p),
                    *(q for entry in faq.ENTRIES for q in entry.questions),
                    "我去拿一下身份证", "身份证在哪看", "不想办了", "你是机器人吗", "我不知道她叫什么", "等我问问我儿子",
                    # a surname and a form of address is no name: 王叔叔, 李大爷, 张医生
                    *(surname + address for surname in "王李张刘陈" for address in WORDS["names"]["address"]),
                    *WORDS["answer"]["heard"]})
DECORATION = st.sampled_from(["", "。", "！", "？", "…", " ", "～", "🙏", "[微笑]", "啊", "呀", "，谢谢", "嗯，"])
NON_NAME = st.builds(lambda head, word, tail: head + word + tail, DECORATION, st.sampled_from(NOT_NAMES), DECORATION)
# Digits of every kind a phone can send: ASCII, full-width, other scripts, superscripts, spoken.
DIGITS = st.text(alphabet="0123456789０１２３４５６７８９𐩀𐩁𐩂٠١٢٣٤٥٦٧٨٩०१२३²³¹½一二三四五六七八九十零幺两拐xX ，,.-",
                 min_size=1, max_size=24)
ANY_TEXT = st.one_of(st.text(max_size=40), DIGITS, NON_NAME)


def at(flow_id: str, step_id: str, data: dict) -> Conversation:
    flow = FLOWS[flow_id]
    return Conversation(flow=flow_id, version=flow.version, step=step_id, data=data, started_at=CTX.now,
                        updated_at=CTX.now)


BIND_AT_NAME = at("bind_member", "member_name", {"idempotency_key": "k", "relationship": "spouse"})
VERIFY_AT_NAME = at("verify", "name", {})


@settings(max_examples=600, deadline=None)
@given(text=NON_NAME)
def test_no_non_name_is_stored_as_a_name(text: str) -> None:
    for conv, field in ((BIND_AT_NAME, "member_name"), (VERIFY_AT_NAME, "name")):
        outcome = ENGINE.handle(conv, UserText(text), CTX)
        assert field not in outcome.conversation.data, (text, outcome.conversation.data.get(field))
        assert outcome.replies or outcome.effects, text


def _every_ask_step() -> list[tuple[str, str]]:
    return [(flow.id, step.id) for flow in FLOWS.values() for step in flow.steps.values() if isinstance(step, Ask)]


SAMPLE_DATA = {
    "idempotency_key": "k", "relationship": "spouse", "member_name": "李秀英", "pledge": True, "shareable_balance": "1",
    "member_id": {"value": ROSTER["李秀英"].id_number, "type": "resident_id", "birth_date": "1964-08-22",
                  "sex": "F", "age": 62},
    "name": "王建国", "id_number": ROSTER["王建国"].id_number, "challenge_id": "C", "masked_phone": "138****0001",
    "members": [{"binding_id": "B1", "relationship": "spouse", "masked_name": "李**",
                 "masked_id_number": "3301**********0224", "status": "active", "since": "2026-01-01T00:00:00+00:00"},
                {"binding_id": "B2", "relationship": "child", "masked_name": "王**",
                 "masked_id_number": "3301**********0319", "status": "active", "since": "2026-01-01T00:00:00+00:00"}],
    "chosen": 0, "payers": [{"binding_id": "B1", "initiator_masked_name": "王**", "is_me": True},
                            {"binding_id": "B2", "initiator_masked_name": "周**", "is_me": False}],
    "new_order": ["B2", "B1"], "code": "ABC123",
    "request": {"initiator_masked_name": "王**", "relationship": "spouse"},
}


@settings(max_examples=400, deadline=None)
@given(place=st.sampled_from(_every_ask_step()), text=ANY_TEXT)
def test_no_message_raises_at_any_step(place: tuple[str, str], text: str) -> None:
    outcome = ENGINE.handle(at(*place, dict(SAMPLE_DATA)), UserText(text), CTX)
    assert outcome.replies or outcome.effects
