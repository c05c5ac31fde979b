"""One message, read: everything the flows may ask of it, each part found on first use."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from flows.understanding import answers, identifiers, kinship, moves, names, numbers
from flows.understanding.normalise import compact, normalise, strip_padding
from flows.understanding.similarity import QUESTION


class Reading:
    """What a message says. `raw` is what arrived; `text` is normalised (simplified characters,
    half-width, lower case); `word` is `text` without punctuation or spaces."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.text = normalise(raw)
        self.word = compact(self.text)

    def __repr__(self) -> str:   # never the text itself: it may hold personal data
        return f"Reading(<{len(self.raw)} chars>)"

    @cached_property
    def empty(self) -> bool:
        return not self.word

    @cached_property
    def move(self) -> str | None:
        """The move the whole message is: help, human, greeting, thanks, wait, back, cancel, restart."""
        if not self.word and re.search(r"[?？]", self.text):
            return "help"    # “？” alone
        return moves.move_of(self.word)

    @cached_property
    def move_inside(self) -> str | None:
        """A move said as part of a longer message (我去拿一下身份证; 算了不办了)."""
        return self.move or moves.move_within(self.word)

    def yes_no(self, kind: str = "") -> bool | None:
        return answers.yes_or_no(self.word, kind, self.text)

    @cached_property
    def number(self) -> int | None:
        """A choice by its number: 1, 第一个, 一, 选2."""
        return numbers.ordinal(strip_padding(self.word) or self.word)

    @cached_property
    def id_numbers(self) -> tuple[str, ...]:
        return tuple(identifiers.id_numbers(self.text))

    @cached_property
    def number_runs(self) -> tuple[str, ...]:
        """Every run of six or more digits: ID numbers and what was meant to be one."""
        return tuple(identifiers.number_runs(self.text))

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(identifiers.codes(self.text))

    @cached_property
    def consent_code(self) -> str | None:
        return identifiers.consent_code(self.text)

    @cached_property
    def kin(self) -> kinship.Kin | None:
        """The relative a short answer names (老伴, 我的老伴, 俺娘, 老拌)."""
        return kinship.kin_in(self._without_numbers_word)

    @cached_property
    def kin_within(self) -> kinship.Kin | None:
        """A relative named anywhere in a longer sentence."""
        return kinship.kin_within(self._without_numbers_word)

    @cached_property
    def name(self) -> names.NameGuess | None:
        """The name this message gives as its answer (她叫李秀英; 李秀英，3301…)."""
        return names.name_in(self._without_numbers_text)

    @cached_property
    def name_within(self) -> names.NameGuess | None:
        """A name inside a longer sentence (帮我把老伴李秀英绑上, 我妈叫张桂兰): what is left between
        the words of the request, the relative and the numbers, when that clearly is a name."""
        rest = self._without_numbers_text
        for kin in (self.kin_within,):
            if kin:
                rest = rest.replace(kin.word, "，")
        for piece in _SENTENCE_WORDS.split(rest):
            guess = names.name_in(piece) if 2 <= len(piece.strip()) <= 6 else None
            if guess and guess.sure:
                return guess
        return None

    @cached_property
    def question(self) -> bool:
        return bool(QUESTION.search(self.text))

    @cached_property
    def _without_numbers_text(self) -> str:
        return _NUMBERS.sub(" ", numbers.spoken_digits(self.text)) if re.search(r"[0-9零一二三四五六七八九幺]", self.text) \
            else self.text

    @cached_property
    def _without_numbers_word(self) -> str:
        return compact(self._without_numbers_text)


# Runs of digits (with a final X), and the words that introduce an ID number.
_NUMBERS = re.compile(r"(?:身份证号码|身份证号|身份证|证件号码|证件号|号码|号)?(?:是|为|：|:)?\s*"
                      r"[0-9](?:[\s\-]?[0-9])*(?:[\s\-]?x)?", re.IGNORECASE)
# The words of a request that stand between the parts of a sentence (帮我把|老伴|李秀英|绑上): what is
# between them may be a name. One-character words only where they cannot be part of a name.
_SENTENCE_WORDS = re.compile(
    r"[\s,，。.!！?？;；:：、]+|身份证号码|身份证号|身份证|证件号码|证件号|号码|家庭共济|开个共济|开共济|共济|绑定|绑上|绑一下|开通|"
    r"办理|办一下|添加|加进|加上|一下|谢谢|麻烦|名字|姓名|帮忙|帮我|给我|我想|我要|想要|她叫|他叫|叫做|名叫|"
    r"[叫是的她他我俺咱给帮把替想要请办绑也都就吧呢啊了呀]")


@lru_cache(maxsize=1024)
def read(text: str) -> Reading:
    """The same text always reads the same: cached, so the engine and a step's parser share it."""
    return Reading(text)
