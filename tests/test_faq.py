"""Policy Q&A matched from the ways people ask."""

from __future__ import annotations

import pytest

from flows import faq


@pytest.mark.parametrize("question, entry_id", [
    ("家庭共济是什么意思", "what_is_mutual_aid"),
    ("岳父能绑吗？", "who_can_be_bound"),
    ("这钱能买药吗", "what_it_pays_for"),
    ("可以取现吗", "what_it_does_not_pay_for"),
    ("亲情账户和这个有什么区别", "family_account_vs_mutual_aid"),
    ("我儿子在外省", "member_in_another_province"),
    ("能用我的卡给我妈买药吗", "real_name_treatment"),
    ("不会用手机怎么办", "at_the_service_hall"),
    ("人工客服电话多少", "hotline"),
    ("给小孩办要什么材料", "papers_for_a_child"),
])
def test_questions_find_their_answer(question: str, entry_id: str) -> None:
    assert faq.match(question).id == entry_id


@pytest.mark.parametrize("text", ["王建国", "1", "是", "330106196203150111", "", "你好"])
def test_answers_are_not_questions(text: str) -> None:
    assert faq.match(text) is None


def test_every_entry_has_its_own_stable_id() -> None:
    ids = [entry.id for entry in faq.ENTRIES]
    assert len(set(ids)) == len(ids) and all(i.isidentifier() and i.islower() for i in ids)
