"""What does not change meaning goes first: full-width forms, traditional characters, case,
spaces, punctuation, fillers and polite words."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from flows.understanding.lexicon import WORDS

# OpenCC: the maintained converter (phrase-level tables, so 乾隆 stays and 乾淨 becomes 干净);
# its C++ core converts a short message in a few microseconds.
_TO_SIMPLIFIED = opencc.OpenCC("t2s")

# Punctuation of both widths, quotes, brackets, and the separators people put inside numbers.
PUNCTUATION = re.compile(r"[\s\u3000。．.，,、！!？?~～；;：:\"'“”‘’（）()《》〈〉「」『』【】\[\]…—\-_/\\|·•‧・*#@+=<>]+")
_EMOJI_CODE = re.compile(r"\[[^\[\]]{1,6}\]")
_REPEATS = re.compile(r"(.{1,2}?)\1+")
CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002fa1f]")

_PADDING = "|".join(map(re.escape, sorted(WORDS["fillers"] + WORDS["polite"], key=len, reverse=True)))
_PADDED = re.compile(f"^(?:{_PADDING})+|(?:{_PADDING})+$")
_KEEP = frozenset(WORDS["names"]["keep"])
_LOOKALIKES = str.maketrans({pair[0]: pair[1] for pair in WORDS["lookalikes"]})
# Emoji and WeChat's emoji codes said around an answer (李秀英🙏, 王建国[握手]).
EMOJI = re.compile(r"\[[^\[\]]{1,6}\]|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")


@lru_cache(maxsize=1024)
def normalise(text: str) -> str:
    """NFKC (full-width digits and letters, compatibility forms), simplified characters, lower
    case, one space between words, no control or format characters."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    if CJK.search(text):
        kept = {i: ch for i, ch in enumerate(text) if ch in _KEEP}
        simplified = _TO_SIMPLIFIED.convert(text)
        if kept and len(simplified) == len(text):     # character for character: put names' own back
            simplified = "".join(kept.get(i, ch) for i, ch in enumerate(simplified))
        text = simplified
    return re.sub(r"\s+", " ", text).strip().lower()


def compact(text: str) -> str:
    """The normalised text without punctuation or spaces (WeChat's emoji codes kept whole)."""
    codes = _EMOJI_CODE.findall(text)
    return PUNCTUATION.sub("", _EMOJI_CODE.sub("", text)) + "".join(codes)


def squeeze(word: str) -> str:
    """对对对 → 对, 嗯嗯 → 嗯, 好的好的 → 好的: repetition adds emphasis, not meaning."""
    return _REPEATS.sub(r"\1", word) if word else word


def lookalikes(word: str) -> str:
    """Characters handwriting input confuses, replaced by the one meant (父毋 → 父母)."""
    return word.translate(_LOOKALIKES)


def strip_padding(word: str) -> str:
    """Fillers and polite words at either end go (那个李秀英啊 → 李秀英, 请问 → ''); what stays
    is the content. Returns '' when nothing else was said."""
    return _PADDED.sub("", word)
