"""Identity verification, once per openid, before anything touches the user's data:
name → ID number → SMS code (through the binding service) → linked."""

from __future__ import annotations

import re

from flows import verify_texts as t
from flows.answers import person_name
from flows.engine import Ask, Context, Do, End, Flow, Invalid
from flows.identity import IdNumberError, parse_id_number
from flows.refusals import refusal

FLOW_ID = "verify"
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
VERSION = 1


def parse_name(text: str, data, ctx: Context) -> str:
    name = person_name(text)
    if name is None:
        raise Invalid(t.BAD_NAME)
    return name


def parse_id(text: str, data, ctx: Context) -> str:
    try:
        return parse_id_number(text, ctx.today).value
    except IdNumberError as problem:
        raise Invalid(t.ID_PROBLEMS[problem.reason]) from None


def parse_code(text: str, data, ctx: Context) -> str:
    code = re.sub(r"\s", "", text).translate(_FULL_WIDTH_DIGITS)
    if not re.fullmatch(r"[0-9]{4,8}", code):
        raise Invalid(t.BAD_CODE)
    return code


def _sent(data, ctx, challenge) -> tuple[str, dict]:
    return "code", {"challenge_id": challenge["challenge_id"], "masked_phone": challenge.get("masked_phone") or ""}


def _send_failed(data, ctx, code: str) -> tuple[str | None, str]:
    if code == "name_id_mismatch":
        return "name", refusal(code)
    if code == "invalid_id_number":
        return "id_number", refusal(code)
    return None, refusal(code)


def _checked(data, ctx, person) -> tuple[str, dict]:
    return "done", {"person": person}


def _check_failed(data, ctx, code: str) -> tuple[str | None, str]:
    if code == "verification_code_wrong":
        return "code", refusal(code)
    if code == "verification_expired":
        return "send_code", t.CODE_RESENT
    return None, refusal(code)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.TITLE, first="name", steps={
    "name": Ask("name", "name", lambda d, c: t.ASK_NAME, parse_name, "id_number", help=t.HELP_NAME,
                label="姓名"),
    "id_number": Ask("id_number", "id_number", lambda d, c: t.ASK_ID, parse_id, "send_code", help=t.HELP_ID,
                     label="身份证号码"),
    "send_code": Do("send_code", "start_verification",
                    lambda d, c: {"name": d["name"], "id_number": d["id_number"]}, _sent, _send_failed,
                    to=("code", "name", "id_number")),
    "code": Ask("code", "code", lambda d, c: t.ASK_CODE.format(phone=d.get("masked_phone", "")), parse_code,
                "check_code", help=t.HELP_CODE, label="验证码"),
    "check_code": Do("check_code", "complete_verification",
                     lambda d, c: {"challenge_id": d["challenge_id"], "code": d["code"]}, _checked, _check_failed,
                     to=("done", "code", "send_code")),
    "done": End("done", lambda d, c: t.VERIFIED.format(name=d["person"]["masked_name"],
                                                        id_number=d["person"]["masked_id_number"])),
})
