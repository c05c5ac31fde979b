"""Policy Q&A matched from the ways people ask."""

from __future__ import annotations

import pytest

from flows import faq


@pytest.mark.parametrize("question, topic", [
    ("家庭共济是什么意思", "什么是家庭共济"),
    ("岳父能绑吗？", "可以绑定哪些家人"),
    ("这钱能买药吗", "共济的钱能用在哪里"),
    ("可以取现吗", "不能用的情况"),
    ("亲情账户和这个有什么区别", "亲情账户和家庭共济的区别"),
    ("我儿子在外省", "家人在外省怎么办"),
    ("能用我的卡给我妈买药吗", "实名就医的规定"),
    ("不会用手机怎么办", "线下怎么办理"),
    ("人工客服电话多少", "人工服务和热线"),
    ("给小孩办要什么材料", "给孩子办要什么材料"),
])
def test_questions_find_their_answer(question: str, topic: str) -> None:
    assert faq.match(question).topic == topic


@pytest.mark.parametrize("text", ["王建国", "1", "是", "330106196203150111", "", "你好"])
def test_answers_are_not_questions(text: str) -> None:
    assert faq.match(text) is None
