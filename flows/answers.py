"""Answers to the questions several flows ask — a person's name, an ID number, a code — read out
of whatever people type around them (flows.understanding), or a re-prompt saying what is wrong.
A name that is not clearly one is asked about before it is stored, never guessed."""

from __future__ import annotations

from datetime import date

from flows.domain.identity import IdNumber, IdNumberError, mask_id_number, parse_id_number
from flows.engine import Invalid, Unclear
from flows.texts import answers as t
from flows.understanding import read
from flows.understanding.answers import heard, yes_or_no
from flows.understanding.kinship import KINDS
from flows.understanding.names import NAME_CUE, surname_alone


def name_in(text: str, confirm: str) -> str:
    """The name in the answer (她叫李秀英 → 李秀英). `confirm` asks about one that is not clearly a
    name (秀英: “您说的‘秀英’是家人的姓名吗？”)."""
    reading = read(text)
    guess = reading.name
    if (guess is None or not guess.sure) and (reading.kin_within or NAME_CUE.search(reading.word)):
        # 我老伴叫李秀英, 我妈张桂兰, 身份证上写的是赵丽: the name inside the sentence.
        guess = reading.name_within or guess
    asks = reading.question and len(reading.word) > len(guess.value if guess else "") + 1   # 孙子还小，要准备啥
    if guess is None or asks or guess.value in KINDS or (reading.kin and not reading.kin.typed) \
            or yes_or_no(reading.word) is not None or heard(reading.word):
        raise Invalid(t.SURNAME_ONLY if surname_alone(reading.word) else t.BAD_NAME)
    if not guess.sure:
        raise Unclear(confirm.format(name=guess.value), value=guess.value)
    return guess.value


def id_number_in(text: str, today: date) -> IdNumber:
    """The ID number in the answer (身份证号是3301…。, digits read out, spaces between groups);
    two different ones: which?"""
    reading = read(text)
    found = reading.id_numbers
    if len(found) > 1:
        raise Unclear(t.WHICH_ID.format(choices="\n".join(
            f"{i}. {mask_id_number(number)}" for i, number in enumerate(found, start=1))), choices=found)
    candidates = found or reading.number_runs
    if not candidates:
        raise Invalid(t.ID_PROBLEMS["empty" if reading.empty else "characters"])
    try:
        return parse_id_number(candidates[0], today)
    except IdNumberError as problem:
        raise Invalid(t.ID_PROBLEMS[problem.reason]) from None


def code_in(text: str, length: int) -> str:
    """The verification code in the answer (验证码是123456, a pasted SMS, 一二三四五六). One of
    another length than the bureau's is refused here, not spent on an attempt."""
    codes = read(text).codes
    if len(codes) != 1:
        raise Invalid(t.BAD_CODE)
    if len(codes[0]) != length:
        raise Invalid(t.CODE_LENGTH.format(length=length))
    return codes[0]
