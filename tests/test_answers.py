"""Short answers as people type them."""

from __future__ import annotations

import pytest

from flows.answers import person_name, relationship_from_words, yes_or_no
from flows.relationships import Relationship


@pytest.mark.parametrize("text, meaning", [
    ("是", True), ("是的！", True), ("对", True), ("确认", True), ("好", True), ("好的。", True),
    ("同意", True), ("1", True), ("１", True), (" OK ", True), ("嗯", True),
    ("否", False), ("不", False), ("不是", False), ("不同意", False), ("2", False), ("No", False),
    ("也许", None), ("", None), ("12", None), ("是不是", None),
])
def test_yes_or_no(text: str, meaning: bool | None) -> None:
    assert yes_or_no(text) is meaning


@pytest.mark.parametrize("text, relation", [
    ("老婆", Relationship.SPOUSE), ("爱人", Relationship.SPOUSE), ("媳妇", Relationship.SPOUSE),
    ("老公", Relationship.SPOUSE), ("丈夫", Relationship.SPOUSE),
    ("爸", Relationship.PARENT), ("妈", Relationship.PARENT), ("父亲", Relationship.PARENT), ("母亲", Relationship.PARENT),
    ("儿子", Relationship.CHILD), ("女儿", Relationship.CHILD), ("闺女", Relationship.CHILD),
    ("哥哥", Relationship.SIBLING), ("外婆", Relationship.GRANDPARENT), ("孙女", Relationship.GRANDCHILD),
    ("岳母", Relationship.PARENT_IN_LAW), ("婆婆", Relationship.PARENT_IN_LAW), ("丈母娘", Relationship.PARENT_IN_LAW),
    ("邻居", None), ("", None),
])
def test_relationship_words(text: str, relation: Relationship | None) -> None:
    assert relationship_from_words(text) is relation


@pytest.mark.parametrize("text, name", [
    ("张三", "张三"), (" 欧阳娜娜 ", "欧阳娜娜"), ("阿卜杜·热合曼", "阿卜杜·热合曼"), ("阿卜杜•热合曼", "阿卜杜·热合曼"),
    ("John Smith", "John Smith"),
    ("张3", None), ("张", None), ("张三😀", None), ("·张三", None), ("张··三", None), ("123", None), ("", None),
])
def test_person_name(text: str, name: str | None) -> None:
    assert person_name(text) == name
