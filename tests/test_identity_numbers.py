"""ID numbers of domain.md §5: the published samples, what people type, every kind of mistake."""

from __future__ import annotations

from datetime import date

import pytest

from flows.domain.identity import IdNumberError, IdType, mask_id_number, mask_name, mask_phone, parse_id_number

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize("typed, value, kind, born, sex", [
    ("11010519491231002X", "11010519491231002X", IdType.RESIDENT, date(1949, 12, 31), "F"),
    ("440524188001010014", "440524188001010014", IdType.RESIDENT, date(1880, 1, 1), "M"),
    ("11010219840406970X", "11010219840406970X", IdType.RESIDENT, date(1984, 4, 6), "F"),
    ("11010519491231002x", "11010519491231002X", IdType.RESIDENT, date(1949, 12, 31), "F"),      # lowercase x
    ("110105 19491231 002X", "11010519491231002X", IdType.RESIDENT, date(1949, 12, 31), "F"),    # spaces
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", IdType.RESIDENT, date(1949, 12, 31), "F"),  # full width
    ("810000199001010019", "810000199001010019", IdType.HMT_RESIDENCE, date(1990, 1, 1), "M"),
    ("83000020100505002X", "83000020100505002X", IdType.HMT_RESIDENCE, date(2010, 5, 5), "F"),
    ("931156198512030012", "931156198512030012", IdType.FOREIGN_PERMANENT, date(1985, 12, 3), "M"),
    ("USA110801150012", "USA110801150012", IdType.FOREIGN_PERMANENT, date(2008, 1, 15), None),    # 2017 version
])
def test_valid_numbers(typed, value, kind, born, sex) -> None:
    number = parse_id_number(typed, TODAY)
    assert (number.value, number.type, number.birth_date, number.sex) == (value, kind, born, sex)


@pytest.mark.parametrize("typed, reason", [
    ("110105194912310021", "checksum"),        # the published invalid sample
    ("110105491231002", "legacy"),             # first-generation 15 digits
    ("110105203012310018", "future"),          # born in 2030
    ("110105194902300026", "date"),            # 30 February (checksum recomputed below)
    ("1101051949123100", "length"),
    ("11010519491231002Y", "characters"),
    ("", "empty"),
])
def test_invalid_numbers(typed, reason) -> None:
    if reason == "date":
        typed = _with_check("11010519490230002")
    with pytest.raises(IdNumberError) as caught:
        parse_id_number(typed, TODAY)
    assert caught.value.reason == reason


def test_the_declared_type_must_match() -> None:
    with pytest.raises(IdNumberError) as caught:
        parse_id_number("810000199001010019", TODAY, IdType.RESIDENT)
    assert caught.value.reason == "type"


def test_age_is_derived() -> None:
    number = parse_id_number("11010219840406970X", TODAY)
    assert number.age_on(date(2026, 4, 5)) == 41
    assert number.age_on(date(2026, 4, 6)) == 42


def test_masks() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_name("张三") == "张*" and mask_name("阿卜杜·热合曼") == "阿**·***"
    assert mask_phone("13812345678") == "138****5678"


def _with_check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=False)) % 11]
