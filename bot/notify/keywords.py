"""WeChat's keyword types: what each keyword of a template message or a subscription notice takes.

A template's keywords are named by their type and a number (`thing1`, `phrase2`, `time4`,
`character_string5` …), as WeChat's console shows them; the type is the name's prefix. WeChat
refuses a value that breaks its type's rules (47003: the whole message is lost), so every value is
fitted here before it is sent — shortened where the type allows it (a `thing`, a masked `name`),
refused otherwise — and `wxbot check-config` fits every value the bot can produce (bot/notify/
templates.py `problems`).

A template message takes at most 20 characters in any value (TEMPLATE_CAP: `fit(…, cap=TEMPLATE_CAP)`);
a subscription notice (订阅通知) only its types' own limits (`fit(…)` without a cap: a
character_string of 32). The types' own limits below are WeChat's documentation of typed keywords ("symbols" are the common ones other
than Chinese characters, letters and digits; never a line break or another control character):

| type | takes |
| --- | --- |
| thing | 20 characters at most: Chinese, letters, digits, symbols (longer: cut, ending in …) |
| name | 10 Chinese characters (with symbols: 王**), or 20 letters and symbols (longer: cut) |
| phrase | 5 Chinese characters at most, nothing else |
| character_string | 32 letters, digits and symbols at most (no Chinese) |
| number | 32 digits at most, with an optional decimal part |
| letter | 32 letters at most |
| symbol | 5 symbols at most |
| time | a time of day (15:01, 15:01:30), optionally after a date (2026-11-22 15:01); or a range a~b |
| date | a date (2026年11月22日, 2026-11-22, 2026/11, 11-22 …), optionally with a time; or a range a~b |
| amount | one currency sign and 10 digits at most, an optional decimal part, an optional 元 |
| phone_number | 17 digits and symbols at most |
| car_number | 8 characters at most: letters and digits, the first and last may be Chinese |
| keyword | the keywords of templates from before typed keywords (keyword1 …): as a thing |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"   # not wording: Unicode's CJK ranges
CHINESE = re.compile(f"[{_CJK}]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
NAME = re.compile(r"^([a-z_]+?)(\d+)$")

# Dates and times as WeChat's typed keywords take them.
_TIME = r"\d{1,2}:\d{2}(:\d{2})?"
_DATE = (r"(\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日"   # not wording: WeChat's date format
         r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2})")
_TIME_POINT = f"({_DATE} ?)?{_TIME}"
_DATE_POINT = f"{_DATE}( ?{_TIME})?"
TIME = re.compile(f"^{_TIME_POINT}( ?~ ?{_TIME_POINT})?$")
DATE = re.compile(f"^{_DATE_POINT}( ?~ ?{_DATE_POINT})?$")
AMOUNT = re.compile(r"^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$")   # not wording: WeChat's amount format
NUMBER = re.compile(r"^\d+(\.\d+)?$")
CAR_NUMBER = re.compile(f"^[{_CJK}A-Za-z0-9][A-Za-z0-9]*[{_CJK}A-Za-z0-9]?$")
ELLIPSIS = "…"
# Since 2023-05 WeChat takes at most 20 characters in each value of a template message, whatever
# its keyword's type; the types' own limits (32 for a character_string) bind subscription messages.
TEMPLATE_CAP = 20


class DoesNotFit(ValueError):
    """A value its keyword's type does not take. `length`: it is only too long (by `limit`)."""

    def __init__(self, type_name: str, takes: str, length: int = 0, limit: int = 0) -> None:
        self.type_name, self.takes, self.length, self.limit = type_name, takes, length, limit
        super().__init__(self.about("the value"))

    def about(self, source: str, value: str | None = None) -> str:
        """What does not fit, for an operator. `value`: one the source *can* be (the start-up
        check, the bot's own words); without it, the value at hand, never shown (it may be personal)."""
        verb = "can be" if value is not None else "is"
        if self.length:
            return f"{source} {verb} {self.length} characters; a {self.type_name} keyword takes {self.limit}"
        if value is not None:
            return f"{source} can be '{value}'; a {self.type_name} keyword takes {self.takes}"
        return f"{source} does not fit: a {self.type_name} keyword takes {self.takes}"


def _symbols(value: str) -> bool:
    """Only symbols: no Chinese, letters, digits or spaces."""
    return not any(CHINESE.match(c) or c.isalnum() or c.isspace() for c in value)


@dataclass(frozen=True)
class KeywordType:
    name: str
    limit: int                                   # characters at most
    takes: str                                   # what it takes, for operators
    allowed: Callable[[str], bool]               # the characters (or the format), length aside
    cut: str | None = None                       # too long: cut to the limit, ending with this

    def fit(self, value: str, cap: int | None = None) -> str:
        """The value as WeChat will take it, or DoesNotFit. `cap`: a limit of the message kind on
        every value (a template message's 20 characters)."""
        value = " ".join(value.split())          # one line
        if _CONTROL.search(value) or not value or not self.allowed(value):
            raise DoesNotFit(self.name, self.takes)
        limit = min(self.limit_for(value), cap or self.limit_for(value))
        if len(value) > limit:
            if self.cut is None:
                raise DoesNotFit(self.name, self.takes, len(value), limit)
            value = value[:limit - len(self.cut)] + self.cut
        return value

    def limit_for(self, value: str) -> int:
        if self.name == "name" and not CHINESE.search(value):
            return 20    # letters and symbols: 20; a Chinese name (with its symbols): 10
        return self.limit


def _name(value: str) -> bool:
    return not _DIGIT.search(value)


def _phrase(value: str) -> bool:
    return all(CHINESE.match(c) for c in value)


def _character_string(value: str) -> bool:
    return not CHINESE.search(value)


def _phone(value: str) -> bool:
    return not CHINESE.search(value) and not _LETTER.search(value)


TYPES: dict[str, KeywordType] = {t.name: t for t in (
    KeywordType("thing", 20, "20 characters", lambda value: True, cut=ELLIPSIS),
    KeywordType("keyword", 20, "20 characters", lambda value: True, cut=ELLIPSIS),
    KeywordType("name", 10, "a name: 10 Chinese characters, or 20 letters and symbols, no digits", _name, cut=""),
    KeywordType("phrase", 5, "5 Chinese characters, nothing else", _phrase),
    KeywordType("character_string", 32, "32 letters, digits and symbols (no Chinese)", _character_string),
    KeywordType("number", 32, "32 digits (a decimal part allowed)", lambda value: bool(NUMBER.match(value))),
    KeywordType("letter", 32, "32 letters", lambda value: value.isascii() and value.isalpha()),
    KeywordType("symbol", 5, "5 symbols", _symbols),
    KeywordType("time", 64, "a time of day (15:01), optionally after a date (2026-11-22 15:01)",
                lambda value: bool(TIME.match(value))),
    KeywordType("date", 64, "a date (2026-11-22, 2026年11月22日), optionally with a time",   # not wording: a format
                lambda value: bool(DATE.match(value))),
    KeywordType("amount", 16, "an amount: a currency sign, 10 digits, an optional decimal part and 元",  # not wording: a format
                lambda value: bool(AMOUNT.match(value))),
    KeywordType("phone_number", 17, "17 digits and symbols", _phone),
    KeywordType("car_number", 8, "a number plate: letters and digits, Chinese first or last",
                lambda value: bool(CAR_NUMBER.match(value))),
)}


def type_of(keyword: str) -> KeywordType | None:
    """The type a keyword's name declares (thing1 → thing); None for a name WeChat does not give."""
    match = NAME.match(keyword)
    return TYPES.get(match.group(1)) if match else None


def fit(keyword: str, value: str, cap: int | None = None) -> str:
    """The value for this keyword as WeChat will take it, or DoesNotFit. `cap`: the message kind's
    limit on every value, whatever the type's (TEMPLATE_CAP for template messages)."""
    kind = type_of(keyword)
    if kind is None:
        raise DoesNotFit(keyword, "nothing: its name declares no type WeChat knows")
    return kind.fit(value, cap)


def known_names() -> str:
    return ", ".join(f"{name}N" for name in TYPES)
