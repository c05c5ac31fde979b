"""A person's name inside what was typed: 李秀英女士, 她叫李秀英, 我叫王建国, 名字是…, 李 秀 英,
王建國 — and whether it clearly is a name. Clearly a name: two to four characters after a known
surname (five after a compound one), or a name with the · separator (阿卜杜·热合曼). Plausible
but not clear (秀英, a Latin-letter name): the flow asks before storing it. Not a name (你好,
我去拿一下身份证, a relative, a yes): None."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import rjieba

from flows.understanding.lexicon import WORDS, load
from flows.understanding.normalise import CJK, EMOJI, PUNCTUATION, strip_padding

_SURNAMES = load("surnames.toml")
SINGLE = frozenset(_SURNAMES["single"])
COMPOUND = frozenset(_SURNAMES["compound"])
# Surnames that are also everyday words (谢 in 谢谢, 于, 和): not enough on their own.
COMMON_WORDS = frozenset(_SURNAMES.get("not_alone", ""))
COMMON = frozenset(_SURNAMES["common"])

# Characters of speech, not of names: a text with one of these is a sentence, not a name.
_SPEECH = frozenset("的了吗呢吧啊么哪谁什怎这那您你我他她它们些嘛呀啦哦嗯喂没办绑查问说想要去拿找等给帮能会不个第码号")

# What people put around a name: 我叫…, 她的名字是…, 姓名：…, …女士, …同志.
_BEFORE = re.compile(r"^(?:(?:我|她|他|家人|孩子|老人|对方|本人|这位家人|家属)?(?:的)?(?:全名|真名|名字|姓名|大名|名)?"
                     r"(?:叫做|就叫|叫|是|为|写的是|写)?)")
# Words that say a sentence names someone (她叫…, 名字, 身份证上写的是…): its name is inside it.
NAME_CUE = re.compile(r"叫|是|名字|姓名|全名")
_NAMES = WORDS["names"]
_AFTER = re.compile("(?:" + "|".join(_NAMES["after_name"] + ["的名字", "这个名字", "这个人", "的"]) + ")+$")
_ADDRESS = frozenset(_NAMES["address"])
_DOT = re.compile(r"[•‧・.．]")
_LATIN = re.compile(r"[a-z][a-z .'\-]{2,58}[a-z]", re.IGNORECASE)   # a foreign permanent resident's name


@dataclass(frozen=True)
class NameGuess:
    value: str
    sure: bool      # clearly a name; otherwise ask before storing it


# Parts of speech (rjieba's tags) of everyday words that are not names: 余额 (n), 收到 (v), 高兴 (a).
_NOT_NAMES = frozenset({"n", "v", "vn", "vd", "a", "ad", "an", "d", "c", "p", "u", "uj", "ul", "r", "m", "t", "f",
                        "y", "o", "e", "l", "i", "zg", "s", "b", "x"})


@lru_cache(maxsize=1024)
def name_in(text: str) -> NameGuess | None:
    """`text`: normalised, with ID numbers already taken out. Pieces set apart by spaces or
    punctuation are names on their own (王建国 男) unless every piece is one character (李 秀 英)."""
    text = re.sub(r"\s*·\s*", "·", EMOJI.sub(" ", _DOT.sub("·", text)))   # 热娜古丽 · 艾买提
    if not CJK.search(text):
        return _latin(text)
    pieces = [p for p in re.split(r"[^\u3400-\u9fff\U00020000-\U0002fa1f·a-z]+", text) if p]
    # 李 秀 英, 欧阳 娜娜: a name typed with spaces; 王建国 男, 李秀英，谢谢: a name and other words.
    spaced = all(len(p) == 1 for p in pieces) or any(p in COMPOUND or p in SINGLE for p in pieces[:-1])
    if len(pieces) > 1 and not spaced:
        guesses = [g for g in map(_one, pieces) if g is not None]
        sure = [g for g in guesses if g.sure]
        if sure:
            # Never a part of a name: with another name-like piece beside it, ask (热娜古丽 艾买提).
            # Pieces that spell it out (三横王, 木子李) or repeat it share its characters.
            chosen = sure[0]
            rivals = [g for g in guesses if g.value != chosen.value and not set(g.value) & set(chosen.value)]
            return chosen if not rivals else NameGuess(chosen.value, sure=False)
        if len(guesses) == 1 and all(_one(p) is None and strip_padding(p) == "" or p == guesses[0].value
                                     for p in pieces):
            return guesses[0]
    return _one("".join(pieces))


def _latin(text: str) -> NameGuess | None:
    latin = text.strip(" ,.;:!?，。；：！？")
    if _LATIN.fullmatch(latin):
        return NameGuess(" ".join(w.capitalize() for w in latin.split()), sure=False)
    return None


def _one(word: str) -> NameGuess | None:
    word = strip_padding(word)
    bare = _AFTER.sub("", _BEFORE.sub("", word, count=1)) or word
    cued, word = bare != word, bare     # 李秀英女士, 她叫李秀英: said as a name
    word = word.strip("·")
    if not word or "··" in word:
        return None
    if re.search(r"[a-z]", word):
        return NameGuess(word, sure=False) if len(word) <= 20 and CJK.search(word) else None   # 李xiu英
    if not all(CJK.match(ch) or ch == "·" for ch in word):
        return None
    if "·" in word:
        return NameGuess(word, sure=len(word) <= 20)
    if not 2 <= len(word) <= 5 or _addressed(word):
        return None      # 王叔叔, 李大爷: a surname and how one addresses them, not a name
    if any(ch in _SPEECH for ch in word) or _starts_with_a_relative(word):
        # 李想, 王能, 孙子涵 are names too: after a surname, asked about rather than refused.
        plain = len(word) <= 4 and word[0] in SINGLE and word[0] not in COMMON_WORDS
        return NameGuess(word, sure=False) if plain else None
    compound = word[:2] in COMPOUND
    if len(word) == 5 and not compound:
        return None
    surname = compound or word[0] in SINGLE
    # rjieba's dictionary tags words by kind: 余额 and 验证码 are nouns, 高兴 an adjective; a name
    # it knows (王建国) is tagged nr, one it does not know (王朵朵) is cut in pieces.
    tags = rjieba.tag(word)
    if len(tags) > 1 and len(tags[0][0]) > 1 and not compound and all(tag in _NOT_NAMES for _, tag in tags):
        return None     # 申请共济: words, every one of them (钱平安 is 钱 and a given name)
    # 文章 is a word; 申请… begins with one (a surname's character, but not used as one here).
    # (杨淑华 is cut 杨淑|华: a common surname's first piece is the segmenter's slip, not a word.)
    a_word = (len(tags) == 1 and tags[0][1] in _NOT_NAMES) or \
        (len(tags) > 1 and len(tags[0][0]) >= 2 and tags[0][1] in _NOT_NAMES and tags[0][0] not in COMPOUND
         and word[0] not in COMMON)
    if a_word and not surname:
        return None
    sure = (not a_word or cued) and ((compound and len(word) >= 3) or
                                     (surname and word[0] not in COMMON_WORDS and len(word) <= 4
                                      and (len(word) >= 3 or word[0] in COMMON or cued)))
    return NameGuess(word, sure=sure)


def _starts_with_a_relative(word: str) -> bool:
    """孙子还小, 老伴儿说: a relative, then words — not a name."""
    from flows.understanding.kinship import KINDS  # kinship reads names lazily too
    return any(word[:length] in KINDS for length in range(2, len(word)))


def _addressed(word: str) -> bool:
    return word[0] in SINGLE and word[1:] in _ADDRESS or word[:2] in COMPOUND and word[2:] in _ADDRESS


def surname_alone(text: str) -> bool:
    """王先生, 李阿姨, 王叔叔: only a surname was given."""
    word = PUNCTUATION.sub("", strip_padding(text))
    return len(word) >= 2 and _addressed(word) or len(_AFTER.sub("", word)) == 1 and word[0] in SINGLE
