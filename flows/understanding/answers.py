"""Yes and no as people say them (lexicon/words.toml [answer]): 对对对, 没错, 是滴, 嗯呢, 行吧,
[强], 👍 / 错了, 不是的, 填错了, 我再想想. The pending question adds its own words: “取消”
answering “确定要取消吗？” is a yes, “不解除” answering “确定要解除吗？” a no."""

from __future__ import annotations

import re
from functools import lru_cache

from flows.understanding.lexicon import WORDS
from flows.understanding.normalise import EMOJI, PUNCTUATION, lookalikes, squeeze, strip_padding
from flows.understanding.similarity import QUESTION
from flows.understanding.typos import SoundIndex

_ANSWER = WORDS["answer"]
YES = frozenset(word for word in _ANSWER["yes"])
NO = frozenset(word for word in _ANSWER["no"])
KINDS = {kind: (frozenset(words["yes"]), frozenset(words["no"]))
         for kind, words in _ANSWER.items() if isinstance(words, dict)}
HEARD = frozenset(_ANSWER["heard"])
_BUT = re.compile(r"但|可是|不过|就是.{0,4}(?:错|不对|改)|只是|然而")
_SOUNDS = SoundIndex([(w, "yes") for w in YES if len(w) >= 2 and not w.isascii()] +
                     [(w, "no") for w in NO if len(w) >= 2 and not w.isascii()], fold=False)
_NEGATION = re.compile(r"^(?:不是很|不可能|不愿意|不愿|不太|不大|没有|不想|不能|无法|不会|不|没|别|莫)(?=.)")
# Said before an answer without changing it: 先不同意 is 不同意, 还是别解了 is 别解了.
_MODIFIERS = re.compile(r"^(?:这个我|那还是|那就|我就|我先|还是|暂时|我|那|先|就)(?=.)")


@lru_cache(maxsize=1024)
def yes_or_no(word: str, kind: str = "", text: str = "") -> bool | None:
    """True, False, or None when the compact `word` is neither (or both: 好的不同意). `text`, the
    message with its punctuation, lets each part of it speak (同意，都是真实的 / 嗯，不给她用了)."""
    said = _said(word, kind)
    if said is not None or not text:
        return said
    # Never a yes from a message that also asks or objects: 好，解除以后还能再绑吗？ / 是的，可是…
    if QUESTION.search(text) or _BUT.search(text):
        return None
    pieces = [PUNCTUATION.sub("", part) for part in re.split(r"[\s,，。.!！;；、~～]+", EMOJI.sub(" ", text))]
    pieces = [piece for piece in pieces if piece]
    if len(pieces) < 2:
        return None
    parts = [_said(piece, kind) for piece in pieces]
    meant = {part for part in parts if part is not None}
    return meant.pop() if len(meant) == 1 else None


def _said(word: str, kind: str) -> bool | None:
    if not word:
        return None
    yes, no = KINDS.get(kind, (frozenset(), frozenset()))
    for candidate in _candidates(word):
        # The question's own words first: “取消” is a yes to “确定要取消吗？”, a no elsewhere.
        if candidate in yes:
            return True
        if candidate in no:
            return False
    for candidate in _candidates(word):
        if candidate in YES:
            return True
        if candidate in NO:
            return False
    if len(word) > 12:
        return None                      # a sentence: its parts speak for it (yes_or_no)
    two = _two_parts(word, yes | YES, no | NO)
    if two is not None:
        return two
    modified = _MODIFIERS.match(word)
    if modified:
        return _said(word[modified.end():], kind)
    negated = _NEGATION.match(word)
    if negated and _said(word[negated.end():], kind) is True and word[negated.end():] not in no:
        return False                     # 不太同意, 没同意, 这个我不能同意
    fixed = lookalikes(word)             # 同竟 → 同意
    if fixed != word:
        return _said(fixed, kind)
    # 确仁, 同义 → 确认, 同意: answering a yes/no question, a word that sounds like yes is a slip.
    heard = _SOUNDS.exact(word) if 2 <= len(word) <= 4 else {}
    meanings = set(heard.values())
    return (meanings.pop() == "yes") if len(meanings) == 1 else None


def heard(word: str) -> bool:
    """明白了, 收到: an acknowledgement, which agrees to nothing."""
    return strip_padding(word) in HEARD or word in HEARD


def _candidates(word: str) -> tuple[str, ...]:
    plain = EMOJI.sub("", word)
    if plain and plain != word:          # 同意🙏: the emoji is decoration (👍 alone is the answer)
        word = plain
    bare = strip_padding(word)
    if len(set(word)) == len(word):          # nothing repeated: nothing to squeeze
        return (word, bare) if bare != word else (word,)
    return tuple(dict.fromkeys((word, bare, squeeze(word), squeeze(bare))))


def _two_parts(word: str, yes: frozenset[str], no: frozenset[str]) -> bool | None:
    """好的同意, 对的没错, 不对不对, 错了错了: every part says the same thing."""
    for bare in dict.fromkeys((squeeze(word), squeeze(strip_padding(word)))):
        said = _halves(bare, yes, no)
        if said is not None:
            return said
    return None


def _halves(bare: str, yes: frozenset[str], no: frozenset[str]) -> bool | None:
    if len(bare) > 10:
        return None      # a sentence, not two short answers
    for cut in range(1, len(bare)):
        head, tail = bare[:cut], bare[cut:]
        head_says = True if head in yes else False if head in no else None
        tail_says = True if tail in yes else False if tail in no else None
        if head_says is not None and head_says == tail_says:
            return head_says
    return None
