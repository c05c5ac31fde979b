"""Understanding short answers the way people type them on a phone: yes/no, relationships, names.

Deterministic: the same text always means the same thing, and anything unclear is None (the
flow then asks again) rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata

from flows.relationships import Relationship

_PUNCTUATION = re.compile(r"[\s。．.，,！!？?~～、；;：:\"'“”‘’（）()【】\[\]…]+")

YES = frozenset({"是", "是的", "对", "对的", "确认", "确定", "好", "好的", "嗯", "嗯嗯", "同意", "可以", "行",
                 "没问题", "ok", "yes", "y", "1"})
NO = frozenset({"否", "不", "不是", "不对", "不同意", "不要", "不用", "不行", "算了", "取消", "no", "n", "2"})


def clean(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces removed."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text)).lower()


def yes_or_no(text: str) -> bool | None:
    word = clean(text)
    if word in YES:
        return True
    if word in NO:
        return False
    return None


# What people call their relatives, mapped to the relationship the rules know.
_RELATIONSHIP_WORDS: dict[Relationship, tuple[str, ...]] = {
    Relationship.SPOUSE: ("配偶", "老婆", "爱人", "媳妇", "媳妇儿", "妻子", "太太", "夫人", "老公", "丈夫",
                          "先生", "对象", "老伴", "老伴儿"),
    Relationship.PARENT: ("父母", "父亲", "母亲", "爸", "妈", "爸爸", "妈妈", "老爸", "老妈", "爹", "娘",
                          "我爸", "我妈"),
    Relationship.CHILD: ("子女", "儿子", "女儿", "闺女", "孩子", "小孩", "儿女"),
    Relationship.SIBLING: ("兄弟姐妹", "哥哥", "弟弟", "姐姐", "妹妹", "哥", "弟", "姐", "妹", "兄弟", "姐妹"),
    Relationship.GRANDPARENT: ("祖父母", "外祖父母", "爷爷", "奶奶", "外公", "外婆", "姥爷", "姥姥"),
    Relationship.GRANDCHILD: ("孙子女", "外孙子女", "孙子", "孙女", "外孙", "外孙女"),
    Relationship.PARENT_IN_LAW: ("岳父母", "公婆", "岳父", "岳母", "丈人", "丈母娘", "公公", "婆婆",
                                 "老丈人", "亲家"),
}
_BY_WORD = {word: relation for relation, words in _RELATIONSHIP_WORDS.items() for word in words}


def relationship_from_words(text: str) -> Relationship | None:
    return _BY_WORD.get(clean(text))


_NAME = re.compile(r"[\u3400-\u9fff\u00b7]{2,20}|[A-Za-z][A-Za-z .\-]{1,58}[A-Za-z]")


def person_name(text: str) -> str | None:
    """A name as written on an ID card: Chinese characters with the · separator (阿卜杜·热合曼),
    or Latin letters for foreign permanent residents. No digits, no emoji."""
    name = unicodedata.normalize("NFKC", text).strip()
    name = re.sub(r"[•‧・.]", "·", name) if re.search(r"[\u3400-\u9fff]", name) else name
    if not _NAME.fullmatch(name) or name.startswith("·") or name.endswith("·") or "··" in name:
        return None
    return name
