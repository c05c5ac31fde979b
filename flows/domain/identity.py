"""Identity numbers of domain.md §5: normalise what people type, validate, derive birth date and sex.

Pure functions; `today` is passed in so that nothing here reads the clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_HMT_PREFIXES = ("810000", "820000", "830000")


class IdType(StrEnum):
    RESIDENT = "resident_id"                   # 居民身份证
    HMT_RESIDENCE = "hmt_residence_permit"     # 港澳台居民居住证
    FOREIGN_PERMANENT = "foreign_permanent"    # 外国人永久居留身份证 (2023: 18 digits; 2017: 15 chars)


class IdNumberError(ValueError):
    """`reason` is one of: empty, characters, length, legacy, checksum, date, future, type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IdNumber:
    type: IdType
    value: str
    birth_date: date
    sex: str | None  # "M" / "F"; None where the number does not say

    def age_on(self, today: date) -> int:
        years = today.year - self.birth_date.year
        return years - ((today.month, today.day) < (self.birth_date.month, self.birth_date.day))


def normalise_id_number(raw: str) -> str:
    """Full-width digits and letters (from Chinese input methods) → ASCII; spaces and dashes go;
    a lowercase x becomes X."""
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s\-]", "", text).upper()


def checksum_ok(value: str) -> bool:
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _WEIGHTS, strict=False))
    return _CHECK[total % 11] == value[17]


def parse_id_number(raw: str, today: date, id_type: IdType | None = None) -> IdNumber:
    value = normalise_id_number(raw)
    if not value:
        raise IdNumberError("empty")
    if len(value) == 15 and re.fullmatch(r"[0-9]{15}", value):
        raise IdNumberError("legacy")  # the first-generation 15-digit card is no longer accepted
    if len(value) == 15 and re.fullmatch(r"[A-Z]{3}[0-9]{12}", value):
        found = IdType.FOREIGN_PERMANENT
        born = _date(value[5:11], today, two_digit_year=True)
        sex = None
    elif len(value) == 18:
        if not re.fullmatch(r"[0-9]{17}[0-9X]", value):   # ASCII: int() of other scripts' digits differs
            raise IdNumberError("characters")
        if not checksum_ok(value):
            raise IdNumberError("checksum")
        found = (IdType.HMT_RESIDENCE if value.startswith(_HMT_PREFIXES)
                 else IdType.FOREIGN_PERMANENT if value[0] == "9" else IdType.RESIDENT)
        born = _date(value[6:14], today)
        sex = "M" if int(value[16]) % 2 else "F"
    elif not re.fullmatch(r"[0-9A-Z]+", value):
        raise IdNumberError("characters")
    else:
        raise IdNumberError("length")
    if id_type is not None and id_type != found:
        raise IdNumberError("type")
    return IdNumber(found, value, born, sex)


def _date(digits: str, today: date, two_digit_year: bool = False) -> date:
    try:
        if two_digit_year:
            year = 2000 + int(digits[:2])
            if year > today.year:
                year -= 100
            born = date(year, int(digits[2:4]), int(digits[4:6]))
        else:
            born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise IdNumberError("date") from None
    if born > today:
        raise IdNumberError("future")
    if born.year < 1880:
        raise IdNumberError("date")
    return born


def mask_id_number(value: str) -> str:
    """1101**********002X: enough to recognise one's own number, too little to use it."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(name: str) -> str:
    """张* / 欧** / 阿**·***: the first character stays, separators stay."""
    return "".join(ch if i == 0 or ch == "·" else "*" for i, ch in enumerate(name))


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "*" * len(digits)
