"""One message, read: everything the flows may ask of it, each part found on first use."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from flows.understanding import answers, identifiers, kinship, moves, names, numbers
from flows.understanding.lexicon import WORDS
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

    # -- what the sentence is doing (lexicon/words.toml [sentence]) --------------------------------
    @cached_property
    def wants_change(self) -> bool:
        """Something should be changed: 名字写错了, 有一项不对 (but 对的没错 is not)."""
        return bool(_SENTENCE["change"].search(_SENTENCE["right"].sub("", self.word)))

    @cached_property
    def is_request(self) -> bool:
        """Asks for something to be done, however put: 帮我…, 怎么让…"""
        return bool(_SENTENCE["request"].search(self.word))

    @cached_property
    def about_rules(self) -> bool:
        """A question about the rules in general (一般多久, 能给家人共济吗), not about what the user
        has done (我都绑了哪些家人)."""
        if _SENTENCE["how_long"].search(self.word):
            return True      # 提交了要多长时间能审核好: how long, in general
        general = _SENTENCE["general"].search(self.word) or _CAN_WE.search(self.word)
        return bool(general) and not _SENTENCE["done"].search(self.word)

    @cached_property
    def how_to_for_someone(self) -> bool:
        """How to do it, for someone: 我老婆子看病想用我卡里的钱，要怎么弄."""
        return bool(_SENTENCE["how_to"].search(self.word)) and bool(
            self.kin_within or _SENTENCE["family"].search(self.word))

    @cached_property
    def clauses(self) -> tuple[str, ...]:
        """The parts of a message set apart by punctuation (only when there are several)."""
        parts = tuple(part for part in re.split(r"[,，。.;；!！?？、]+", self.text) if part.strip())
        return parts if len(parts) > 1 else ()

    @cached_property
    def clauses_to_change(self) -> tuple[str, ...]:
        """The parts of a message that ask for a change (名字是对的，身份证号错了 → 身份证号错了)."""
        clauses = (compact(part) for part in re.split(r"[\s,，。.;；!！、]+", self.text))
        return tuple(c for c in clauses if c and _SENTENCE["change"].search(_SENTENCE["right"].sub("", c)))

    @cached_property
    def item_number(self) -> int | None:
        """The item named by its number: 修改2, 修改第二项, 改二, 2要改, 第二项要改一下."""
        for word in dict.fromkeys((self.word, strip_padding(self.word))):
            numbered = _ITEM.match(word)
            if numbered:
                number = numbers.ordinal(next(group for group in numbered.groups() if group))
                if number is not None:
                    return number
        return None

    @cached_property
    def new_value(self) -> str | None:
        """The new value said with an edit: 改成李秀瑛, 应该是…0224, 不是配偶，是我妈 (the last one said)."""
        found = list(_NEW_VALUE.finditer(self.text))
        return found[-1].group(1) if found else None

    @cached_property
    def resume_choice(self) -> str | None:
        """Answering “继续上次还是重新开始？”: continue, restart, cancel or None."""
        if self.number == 1 or self.word in _RESUME or self.yes_no():
            return "continue"
        if self.number == 2 or self.word in _START_OVER or self.move == "restart":
            return "restart"
        return "cancel" if self.move == "cancel" else None

    @cached_property
    def slots(self) -> dict[str, str]:
        """What a message said that a step may take, by kind of slot: a relative, a name (not the
        speaker's own: 我叫王建国…), ID numbers (two wait together, and the ID step asks which)."""
        said = {"relationship": self.kin_within.word if self.kin_within else None,
                "name": self.name_within.value if self.name_within and not self.self_named else None,
                "id_number": " ".join(self.id_numbers) or None}
        return {kind: value for kind, value in said.items() if value}

    @cached_property
    def self_named(self) -> bool:
        """我叫…, 我是…: the name given is the speaker's own."""
        return bool(_OWN_NAME.search(self.word))

    @cached_property
    def _without_numbers_text(self) -> str:
        """The text without its ID numbers and codes (runs of six or more digits, typed or read
        out, and the words that introduce them); a short run (李一一) stays."""
        return _NUMBERS.sub(" ", self.text)

    @cached_property
    def _without_numbers_word(self) -> str:
        return compact(self._without_numbers_text)


def _any_of(words: list[str]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))


_SENTENCE = {kind: _any_of(words) for kind, words in WORDS["sentence"].items()
             if kind not in ("resume", "start_over")}
_RESUME, _START_OVER = frozenset(WORDS["sentence"]["resume"]), frozenset(WORDS["sentence"]["start_over"])
# 修改2, 修改第二项, 改二 / 第二项错了, 2要改: an item by its number.
_ITEM = re.compile(r"^(?:我要|要)?(?:修改|修该|改一下|改)(?:第)?(.{1,3}?)(?:项|个|条)?$|"
                   r"^第?(.{1,3}?)(?:项|个|条)?(?:错了|错|不对|要改|改一下|改|有错|写错了|写错|填错了|填错)$")
# The new value of an edit: after 改成, 改为, 换成, 应该是 or a 是 that is not 不是.
_NEW_VALUE = re.compile(r"(?:改成|改为|换成|应该是|应为|(?<!不)是)\s*[:：]?\s*([^，,。；;]+)")
# 能给家人共济吗, 可以绑外孙不: may one (do something) — a question about the rules.
_CAN_WE = re.compile(r"(?:可以|能)(?:绑|办|用|给|加|共济).{0,6}(?:吗|不|么)$")

# Runs of six or more digits, typed or read out (with a final X), and the words that introduce them.
_DIGIT = "0-9零〇○洞一幺二两三四五六七拐八九勾壹贰叁肆伍陆柒捌玖"
_NUMBERS = re.compile(f"(?:身份证号码|身份证号|身份证|证件号码|证件号|号码|号|验证码)?(?:是|为|：|:)?\\s*"
                      f"[{_DIGIT}](?:[\\s\\-,，]?[{_DIGIT}]){{5,}}(?:[\\s\\-]?(?:x|叉))?|[0-9]+", re.IGNORECASE)
_OWN_NAME = re.compile("|".join(WORDS["names"]["own"]))
# The words of a request that stand between the parts of a sentence (帮我把|老伴|李秀英|绑上): what is
# between them may be a name. One-character words only where they cannot be part of a name.
_SENTENCE_WORDS = re.compile(
    r"[\s,，。.!！?？;；:：、]+|身份证号码|身份证号|身份证|证件号码|证件号|号码|家庭共济|开个共济|开共济|共济|绑定|绑上|绑一下|开通|"
    r"办理|办一下|添加|加进|加上|一下|谢谢|麻烦|名字|姓名|帮忙|帮我|给我|我想|我要|想要|她叫|他叫|叫做|名叫|"
    r"[叫是的她他我俺咱给帮把替想要请办绑也都就吧呢啊了呀]")


@lru_cache(maxsize=256)
def read(text: str) -> Reading:
    """The same text always reads the same: cached, so the engine and a step's parser share it."""
    return Reading(text)
