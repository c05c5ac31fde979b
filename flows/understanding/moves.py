"""Words that mean the same at every step (lexicon/words.toml): help, a human, a greeting,
thanks, wait, back, cancel, restart."""

from __future__ import annotations

from functools import lru_cache

from flows.understanding.lexicon import WORDS
from flows.understanding.normalise import squeeze, strip_padding

_BY_WORD = {word: move for move, entry in WORDS["move"].items() for word in entry["words"]}
# Inside a sentence, a request for a person outweighs “I don't understand”: 机器人听不懂，找个人.
_PRIORITY = ("human", "cancel", "restart", "back", "wait", "help", "greeting", "thanks")
_PHRASES = sorted(((phrase, move) for move, entry in WORDS["move"].items() for phrase in entry["phrases"]),
                  key=lambda pair: (_PRIORITY.index(pair[1]), -len(pair[0])))


@lru_cache(maxsize=1024)
def move_of(word: str) -> str | None:
    """The move a whole message is (compact text): 帮助, 转人工, 你好啊, 谢谢您, 返回上一步 …"""
    for candidate in (word, strip_padding(word), squeeze(word), squeeze(strip_padding(word))):
        if candidate in _BY_WORD:
            return _BY_WORD[candidate]
    return None


@lru_cache(maxsize=1024)
def move_within(word: str) -> str | None:
    """A move said inside a longer message (我去拿一下身份证, 算了不办了): the weightiest found."""
    for phrase, move in _PHRASES:
        if phrase in word:
            return move
    return None
