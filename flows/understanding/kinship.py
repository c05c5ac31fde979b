"""What people call their relatives (lexicon/kinship.toml), found in a word or inside a phrase:
老伴, 我的老伴, 是我老伴, 老伴儿, 俺娘, 我哥; refused relatives with the reason; words that mean
different relatives in different places (媳妇); and pinyin slips (老拌 → 老伴; 老板 → ask)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import rjieba

from flows.understanding.lexicon import load
from flows.understanding.normalise import EMOJI, lookalikes, strip_padding
from flows.understanding.typos import SoundIndex, sound


@dataclass(frozen=True)
class Kin:
    word: str                       # the kinship word, as the lexicon has it
    relationship: str | None = None  # an allowed relationship: spouse, parent, child, …
    refused: str | None = None      # why the rules never allow it: parent_in_law, child_in_law, …
    options: tuple[str, ...] = ()   # a word that means several relatives: the ones it may mean
    typed: str | None = None        # what was typed, when it only sounds like `word` and is a word itself


_LEXICON = load("kinship.toml")
KINDS: dict[str, Kin] = {}
for _relationship, _words in _LEXICON["allowed"].items():
    KINDS.update({w: Kin(w, relationship=_relationship) for w in _words})
for _reason, _words in _LEXICON["refused"].items():
    KINDS.update({w: Kin(w, refused=_reason) for w in _words})
KINDS.update({w: Kin(w, options=tuple(options)) for w, options in _LEXICON["ambiguous"].items()})
_LONGEST = max(map(len, KINDS))
# The pinyin of every kinship word of two or more characters, for words typed in Latin letters.
_LATIN: dict[str, Kin] = {}
for _word in KINDS:   # the lexicon lists the everyday word of a sound first: erzi is 儿子, not 二姊
    if len(_word) >= 2:
        _LATIN.setdefault("".join(sound(_word, fold=False)), KINDS[_word])
_SOUNDS = SoundIndex((word, word) for word in KINDS if len(word) >= 2)

# Who the relative is to: 我的老伴, 俺娘, 是我老伴, 给我妈, 我家闺女 …
_OWNER = re.compile(r"^(?:就是|是|给|帮|为|替|跟)?(?:我们家的|我们家|我家的|我家|俺家的|俺家|咱家的|咱家|咱们家|"
                    r"我的|俺的|咱的|阿拉屋里|阿拉|我|俺|咱|自己的|自家)?")   # 阿拉: 吴 (上海) for 我/我们
_TRAILER = re.compile(r"(?:呀|啊|吧|呢|的|哈|啦)+$")


# A relative of a relative: 我老伴的妈 is a parent-in-law, 我儿子的媳妇 a child's spouse.
_OF = {("spouse", "parent"): "parent_in_law", ("spouse", "sibling"): "sibling_in_law",
       ("child", "spouse"): "child_in_law", ("child", "child"): "grandchild", ("parent", "parent"): "grandparent",
       ("parent", "sibling"): "uncle_aunt", ("sibling", "spouse"): "sibling_in_law",
       ("sibling", "child"): "nephew_niece", ("grandchild", "spouse"): "step_or_other",
       ("parent", "child"): "sibling", ("child", "in_law"): "child_in_law"}
_ALLOWED = frozenset(_LEXICON["allowed"])


@lru_cache(maxsize=1024)
def kin_in(word: str) -> Kin | None:
    """The relative a short answer names (the whole compact word is about one relative)."""
    typed = EMOJI.sub("", word)
    word = strip_padding(typed)
    bare = _TRAILER.sub("", _OWNER.sub("", word, count=1)) or word
    for candidate in (word, bare, bare[:-1] if bare.endswith("儿") else None, lookalikes(bare), lookalikes(typed)):
        if candidate and candidate in KINDS:
            return KINDS[candidate]
    if word.isascii() and word.isalpha():    # erzi, laoban: pinyin typed without picking characters
        meant = _LATIN.get(word)
        return Kin(meant.word, meant.relationship, meant.refused, meant.options, typed=word) if meant else None
    return _of(bare) or _sounds_like(bare)


def kin_within(text: str) -> Kin | None:
    """The relative named anywhere in a sentence (帮我把老伴李秀英绑上): a relative of a relative
    (我老伴的妈) as such; else the word right after 我/俺/给/帮 (阿姨您好，我想绑老伴 → 老伴),
    else the longest. A one-character word (妈, 哥) only after such a word, or alone."""
    composed = _of(text)
    if composed:
        return composed
    found = _words_in(text)
    if not found:
        return _heard_within(text)
    owned = [(start, word) for start, word in found if start and text[start - 1] in "我俺咱给帮替把的绑办加"]
    start, word = max(owned or found, key=lambda pair: (len(pair[1]), -pair[0]))
    return KINDS[word]


def _heard_within(text: str) -> Kin | None:
    """给我老拌绑定: a pinyin slip for a relative, right after 我/俺/给/帮, and no word itself."""
    for owner in re.finditer(r"[我俺咱给帮替把]", text):
        for length in (3, 2):
            typed = text[owner.end():owner.end() + length]
            if len(typed) == length and not rjieba.has_word(typed):
                found = _SOUNDS.exact(typed)
                if len(found) == 1:
                    return KINDS[next(iter(found))]
    return None


def _words_in(text: str) -> list[tuple[int, str]]:
    found = [(start, text[start:start + length]) for length in range(min(_LONGEST, len(text)), 1, -1)
             for start in range(0, len(text) - length + 1) if text[start:start + length] in KINDS]
    taken = [(s, w) for s, w in found if not any(s2 <= s and s + len(w) <= s2 + len(w2) and (s2, w2) != (s, w)
                                                 for s2, w2 in found)]
    for single in re.finditer(r"(?:^|(?<=[我俺咱给帮替把的]))(?:的|家)?(.)", text):
        # 我姑娘, 我哥们: the character begins another word, and is not the relative 姑 or 哥.
        starts_word = rjieba.has_word(text[single.start(1):single.start(1) + 2]) and \
            text[single.start(1):single.start(1) + 2] not in KINDS
        if single.group(1) in KINDS and not starts_word and not any(s <= single.start(1) < s + len(w)
                                                                    for s, w in taken):
            taken.append((single.start(1), single.group(1)))
    return sorted(taken)


def _of(text: str) -> Kin | None:
    """我老伴的妈, 儿子的媳妇: two relatives in a row, the second one's relation to the first."""
    found = _words_in(text)
    if len(found) < 2:
        return None
    (s1, w1), (s2, w2) = found[-2], found[-1]
    between = text[s1 + len(w1):s2]
    if between not in ("的", "家的") or text[s2 + len(w2):].strip("的呀啊吧") != "":
        return None      # 儿子女儿 is two relatives, not a relative's relative
    first, second = KINDS[w1], KINDS[w2]
    outer = first.relationship or (first.options[0] if first.options else None)
    inner = second.relationship or ("in_law" if second.refused == "child_in_law" else None) or \
        (second.options[0] if second.options else None)
    composed = _OF.get((outer, inner))
    if composed is None:
        return None
    word = text[s1:s2 + len(w2)]
    return Kin(word, relationship=composed) if composed in _ALLOWED else Kin(word, refused=composed)


def _sounds_like(word: str) -> Kin | None:
    if not 2 <= len(word) <= _LONGEST:
        return None
    found = _SOUNDS.exact(word) or _SOUNDS.near(word)
    if len(found) != 1:
        return None
    shares = any(a == b for a, b in zip(next(iter(found)), word, strict=False))
    if not shares and _is_a_name(word):
        return None      # 唐杰 sounds like 堂姐, but it is a name (付母 shares 母 with 父母: a slip)
    kin = KINDS[next(iter(found))]
    # 老拌 is no word: a slip, taken as 老伴. 老板 is a word of its own: ask before taking it.
    return Kin(kin.word, kin.relationship, kin.refused, kin.options, typed=word) if rjieba.has_word(word) else kin


def _is_a_name(word: str) -> bool:
    from flows.understanding.names import name_in  # names needs kinship's words; read lazily
    guess = name_in(word)
    return guess is not None and guess.sure
