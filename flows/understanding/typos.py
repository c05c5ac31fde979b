"""Words typed with a pinyin input method's wrong pick: the same sound, another character
(老拌 for 老伴, 邦定 for 绑定, 家庭公济 for 家庭共济). Matched by their sound without tones.

pypinyin: the maintained dictionary of readings; only the characters actually seen are looked
up (each once, cached), so a message costs a few dictionary hits. rapidfuzz scores near
misses of longer words (z/zh, n/l and the like: 儿纸 for 儿子) in C."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import Levenshtein

from flows.understanding.normalise import CJK

# Sounds that regional accents merge, and so do typists who learnt pinyin late: zh/z, ch/c,
# sh/s, -ng/-n, n-/l- (儿纸 for 儿子, 老伴 typed as nao ban).
_ACCENT = ((re.compile(r"^([zcs])h"), r"\1"), (re.compile(r"ng$"), "n"), (re.compile(r"^l"), "n"))


@lru_cache(maxsize=8192)
def _syllable(char: str, fold: bool) -> str:
    heard = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    syllable = heard[0] if heard else char
    if fold:
        for pattern, plain in _ACCENT:
            syllable = pattern.sub(plain, syllable)
    return syllable


def sound(word: str, fold: bool = True) -> tuple[str, ...]:
    return tuple(_syllable(ch, fold) if CJK.match(ch) else ch for ch in word)


class SoundIndex:
    """Words by their sound; a word sharing its sound with another word of a different meaning is
    kept under both meanings, so a look-up can tell that it is ambiguous."""

    def __init__(self, words: Iterable[tuple[str, str]], fold: bool = True) -> None:   # (word, meaning)
        """`fold`: merge the sounds accents merge (for short words people say: 儿纸 → 儿子); longer
        phrases are matched by their exact sound (想用我的 must not become 先用我的)."""
        self.fold = fold
        self.by_sound: dict[tuple[str, ...], dict[str, str]] = {}
        for word, meaning in words:
            self.by_sound.setdefault(sound(word, fold), {})[word] = meaning
        self.lengths = sorted({len(key) for key in self.by_sound}, reverse=True)
        self.by_length: dict[int, list[tuple[str, dict[str, str]]]] = {}
        for key, found in self.by_sound.items():
            self.by_length.setdefault(len(key), []).append((" ".join(key), found))

    def exact(self, word: str) -> dict[str, str]:
        """{lexicon word: meaning} for the words that sound exactly like `word`; of several, the
        ones sharing most characters with it (儿纸 → 儿子, not 二姊)."""
        found = self.by_sound.get(sound(word, self.fold), {})
        if len(found) < 2:
            return found
        shared = {w: sum(a == b for a, b in zip(w, word, strict=False)) for w in found}
        best = max(shared.values())
        return {w: m for w, m in found.items() if shared[w] == best}

    def near(self, word: str) -> dict[str, str]:
        """Words of three or more syllables one letter away in pinyin (a two-syllable word is too
        short to risk it; 家庭公积 ~ 家庭共济 is not)."""
        heard = sound(word, self.fold)
        if len(heard) < 3:
            return {}
        spoken = " ".join(heard)
        for key, words in self.by_length.get(len(heard), ()):
            if Levenshtein.distance(spoken, key, score_cutoff=1) <= 1:
                return words
        return {}

    def within(self, text: str) -> tuple[str, str, str] | None:
        """(typed, lexicon word, meaning) for the longest stretch of `text` that sounds like one
        lexicon word, else None."""
        heard = sound(text, self.fold)
        for length in self.lengths:
            for start in range(0, len(heard) - length + 1):
                words = self.by_sound.get(heard[start:start + length])
                if words and len(set(words.values())) == 1:
                    word, meaning = next(iter(words.items()))
                    return text[start:start + length], word, meaning
        return None
