"""Identity verification, once per openid, before anything touches the user's data:
name → ID number → SMS code (through the binding service) → linked."""

from __future__ import annotations

from typing import Any

from flows.answers import code_in, id_number_in, name_in
from flows.context import Context
from flows.domain.identity import parse_id_number
from flows.engine import Ask, Data, Do, End, Entry, Flow
from flows.texts import verify as t
from flows.texts.refusals import refusal
from flows.understanding.lexicon import SERVICES

FLOW_ID = "verify"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml


def parse_name(text: str, data: Data, ctx: Context) -> str:
    return name_in(text, t.CONFIRM_NAME)


def parse_id(text: str, data: Data, ctx: Context) -> str:
    return id_number_in(text, ctx.today).value


def parse_code(text: str, data: Data, ctx: Context) -> str:
    return code_in(text, ctx.region.verification_code_length)


def _sent(data: Data, ctx: Context, challenge: Any) -> tuple[str, dict]:
    return "code", {"challenge_id": challenge["challenge_id"]}


def _send_failed(data: Data, ctx: Context, code: str) -> tuple[str | None, str]:
    if code == "name_id_mismatch":
        return "name", refusal(code)
    if code == "invalid_id_number":
        return "id_number", refusal(code)
    return None, refusal(code)


def _checked(data: Data, ctx: Context, person: Any) -> tuple[str, dict]:
    return "done", {"person": person}


def _check_failed(data: Data, ctx: Context, code: str) -> tuple[str | None, str]:
    if code == "verification_code_wrong":
        return "code", refusal(code)
    if code == "verification_expired":
        return "send_code", t.CODE_RESENT
    return None, refusal(code)


def verified(data: Data, ctx: Context) -> str:
    """Who was verified, and what comes next: the service that asked for it follows at once;
    verification on its own says what the user can do now."""
    said = t.VERIFIED.format(name=data["person"]["masked_name"], id_number=data["person"]["masked_id_number"])
    return said if data.get("then") else f"{said}\n{t.WHAT_NEXT}"


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="VERIFY")


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.TITLE, first="name", entry=ENTRY, steps={
    "name": Ask(field="name", prompt=lambda d, c: t.ASK_NAME_AGAIN if d.get("again") else t.ASK_NAME,
                parse=parse_name, next="id_number", help=t.HELP_NAME, label=t.ITEMS["name"], slot="name"),
    "id_number": Ask(field="id_number", prompt=lambda d, c: t.ASK_ID, parse=parse_id, next="send_code",
                     help=t.HELP_ID, label=t.ITEMS["id_number"], slot="id_number"),
    "send_code": Do(effect="start_verification",
                    args=lambda d, c: {"name": d["name"], "id_number": d["id_number"],
                                       "id_type": parse_id_number(d["id_number"], c.today).type.value},
                    on_ok=_sent, on_error=_send_failed, to=("code", "name", "id_number")),
    "code": Ask(field="code", prompt=lambda d, c: t.ASK_CODE, parse=parse_code, next="check_code",
                help=t.HELP_CODE, label=t.ITEMS["code"]),
    "check_code": Do(effect="complete_verification",
                     args=lambda d, c: {"challenge_id": d["challenge_id"], "code": d["code"]},
                     on_ok=_checked, on_error=_check_failed, to=("done", "code", "send_code")),
    "done": End(message=verified),
})
