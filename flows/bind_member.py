"""Bind a family member: eligibility → relationship → name → ID → (age check) → (proof for a
minor) → pledge → summary (确认 or 修改N) → submit → the result in plain words."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flows import bind_member_texts as t
from flows.answers import clean, person_name, relationship_from_words, yes_or_no
from flows.engine import Ask, Context, Do, End, Flow, Invalid, yes_or_no_answer
from flows.identity import IdNumberError, mask_id_number, mask_name, parse_id_number
from flows.refusals import refusal
from flows.relationships import LABELS, Relationship
from flows.verify_texts import ID_PROBLEMS

FLOW_ID = "bind_member"
VERSION = 1

ID_TYPES = {"resident_id": "身份证号码", "hmt_residence_permit": "港澳台居民居住证",
            "foreign_permanent": "外国人永久居留身份证"}

# Whom the member must be older (+1) or younger (-1) than the initiator, by relationship.
_EXPECTED_AGE = {Relationship.PARENT: 1, Relationship.GRANDPARENT: 1,
                 Relationship.CHILD: -1, Relationship.GRANDCHILD: -1}


def _allowed(ctx: Context) -> list[Relationship]:
    return list(ctx.settings.relationships)


def _allowed_text(ctx: Context) -> str:
    return "、".join(LABELS[r] for r in _allowed(ctx))


# -- relationship ------------------------------------------------------------------------------
def ask_relationship(data, ctx: Context) -> str:
    choices = "\n".join(f"{i}. {LABELS[r]}" for i, r in enumerate(_allowed(ctx), start=1))
    balance = Decimal(data.get("shareable_balance") or "0")
    return t.ASK_RELATIONSHIP.format(balance=f"{balance:,.2f}", choices=choices)


def parse_relationship(text: str, data, ctx: Context) -> str:
    allowed, word = _allowed(ctx), clean(text)
    if word.isdigit() and 1 <= int(word) <= len(allowed):
        return allowed[int(word) - 1].value
    relation = relationship_from_words(text)
    if relation is Relationship.PARENT_IN_LAW:
        raise Invalid(refusal("relationship_forbidden"))
    if relation is None:
        raise Invalid(t.BAD_RELATIONSHIP)
    if relation not in allowed:
        raise Invalid(refusal("relationship_not_in_region") + t.NOT_HERE.format(allowed=_allowed_text(ctx)))
    return relation.value


# -- the member ----------------------------------------------------------------------------------
def parse_name(text: str, data, ctx: Context) -> str:
    name = person_name(text)
    if name is None:
        raise Invalid(t.BAD_NAME)
    return name


def parse_member_id(text: str, data, ctx: Context) -> dict[str, Any]:
    try:
        number = parse_id_number(text, ctx.today)
    except IdNumberError as problem:
        raise Invalid(ID_PROBLEMS[problem.reason]) from None
    is_self = ctx.user.get("is_self")
    if is_self is not None and is_self(number.value):
        raise Invalid(t.SELF)
    return {"value": number.value, "type": number.type.value, "birth_date": number.birth_date.isoformat(),
            "sex": number.sex, "age": number.age_on(ctx.today)}


def implausible_age(data, ctx: Context) -> str | None:
    """'older' or 'younger' when the ID contradicts the relationship (a 'child' older than me)."""
    expected = _EXPECTED_AGE.get(Relationship(data["relationship"]))
    mine = ctx.user.get("birth_date")
    if expected is None or not mine:
        return None
    member = date.fromisoformat(data["member_id"]["birth_date"])
    initiator = date.fromisoformat(mine)
    if expected < 0 and member <= initiator:
        return "older"
    if expected > 0 and member >= initiator:
        return "younger"
    return None


def needs_proof(data, ctx: Context) -> bool:
    return ctx.settings.minor_proof_required and data["member_id"]["age"] < ctx.settings.consent_age


def after_id(data, ctx: Context) -> str:
    if implausible_age(data, ctx):
        return "age_check"
    return after_age_check(data, ctx)


def after_age_check(data, ctx: Context) -> str:
    if data.get("age_confirmed") is False:
        return "member_id"
    return "proof" if needs_proof(data, ctx) else "pledge"


def ask_age(data, ctx: Context) -> str:
    comparison = t.OLDER if implausible_age(data, ctx) == "older" else t.YOUNGER
    return t.ASK_AGE.format(relationship=LABELS[Relationship(data["relationship"])], comparison=comparison)


parse_yes_no = yes_or_no_answer("请回复“是”或“否”。")


# -- pledge and summary --------------------------------------------------------------------------
parse_pledge = yes_or_no_answer("请回复“同意”或“不同意”。")


def summary(data, ctx: Context) -> str:
    member = data["member_id"]
    sex = {"M": "男", "F": "女"}.get(member["sex"] or "", "")
    items = [f"关系：{LABELS[Relationship(data['relationship'])]}",
             f"姓名：{mask_name(data['member_name'])}",
             f"{ID_TYPES.get(member['type'], '证件号码')}：{mask_id_number(member['value'])}"
             f"（{sex + '，' if sex else ''}{member['age']}岁）"]
    if data.get("proof"):
        items.append(f"证明材料：{t.PROOF_ATTACHED}")
    return t.SUMMARY.format(items="\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1)))


def parse_confirm(text: str, data, ctx: Context) -> bool:
    if yes_or_no(text) is True or clean(text) in ("确认提交", "提交"):
        return True
    raise Invalid(t.BAD_SUMMARY)


# -- effects and results -------------------------------------------------------------------------
def _eligibility_checked(data, ctx, result) -> tuple[str, dict]:
    if not result["eligible"]:
        return "not_eligible", {"reason": result["reason"]}
    return "relationship", {"shareable_balance": str(result["shareable_balance"])}


def _submit_args(data, ctx: Context) -> dict[str, Any]:
    args = {"member_name": data["member_name"], "member_id_type": data["member_id"]["type"],
            "member_id_number": data["member_id"]["value"], "relationship": data["relationship"],
            "pledge_accepted": bool(data.get("pledge")), "proof_media_ids": [data["proof"]] if data.get("proof") else []}
    # The same submission retried (a timeout, “重试”) keeps its key, so it is never applied twice;
    # a corrected one (after a refusal) is a new submission and gets a new key.
    content = json.dumps(args, sort_keys=True, ensure_ascii=False).encode()
    args["idempotency_key"] = f"{data['idempotency_key']}-{hashlib.sha256(content).hexdigest()[:16]}"
    return args


# Refusals that the user can mend by changing one answer: back to that question.
_MENDABLE = {"name_id_mismatch": "member_name", "invalid_id_number": "member_id", "cannot_add_self": "member_id",
             "relationship_forbidden": "relationship", "relationship_not_in_region": "relationship",
             "proof_missing": "proof", "proof_rejected": "proof"}


def _failed(data, ctx, code: str) -> tuple[str | None, str]:
    step = _MENDABLE.get(code)
    if step == "proof" and not needs_proof(data, ctx):
        step = None
    return step, refusal(code)


def result_message(data, ctx: Context) -> str:
    application = data["application"]
    relationship, name = LABELS[Relationship(data["relationship"])], mask_name(data["member_name"])
    status = application["status"]
    if status == "approved":
        return t.APPROVED.format(relationship=relationship, name=name)
    if status == "pending_consent":
        consent = application["consent"]
        expires = datetime.fromisoformat(consent["expires_at"]).astimezone().strftime("%m月%d日 %H:%M")
        return t.PENDING_CONSENT.format(relationship=relationship, name=name, code=consent["code"], expires=expires,
                                        url=consent["url"])
    if status == "under_review":
        return t.UNDER_REVIEW
    return t.REJECTED.format(reason=refusal(application.get("reason") or ""))


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.TITLE, first="eligibility", steps={
    "eligibility": Do("eligibility", "eligibility", lambda d, c: {}, _eligibility_checked,
                      lambda d, c, code: (None, refusal(code)), to=("relationship", "not_eligible")),
    "not_eligible": End("not_eligible", lambda d, c: t.NOT_ELIGIBLE.format(reason=refusal(d["reason"]))),
    "relationship": Ask("relationship", "relationship", ask_relationship, parse_relationship,
                        "member_name", label="关系",
                        help=t.HELP_RELATIONSHIP.format(allowed="配偶、父母、子女等近亲属")),
    "member_name": Ask("member_name", "member_name", lambda d, c: t.ASK_NAME, parse_name,
                       "member_id", help=t.HELP_NAME, label="姓名"),
    "member_id": Ask("member_id", "member_id", lambda d, c: t.ASK_ID, parse_member_id, after_id,
                     help=t.HELP_ID, label="证件号码", to=("age_check", "proof", "pledge")),
    "age_check": Ask("age_check", "age_confirmed", ask_age, parse_yes_no, after_age_check,
                     to=("member_id", "proof", "pledge")),
    "proof": Ask("proof", "proof", lambda d, c: t.ASK_PROOF.format(age=c.settings.consent_age),
                 lambda media_id, d, c: media_id, "pledge", help=t.HELP_PROOF,
                 label="证明材料", wants_image=True),
    "pledge": Ask("pledge", "pledge", lambda d, c: t.ASK_PLEDGE, parse_pledge,
                  lambda d, c: "summary" if d["pledge"] else "pledge_declined", help=t.HELP_PLEDGE,
                  to=("summary", "pledge_declined")),
    "pledge_declined": End("pledge_declined", lambda d, c: t.PLEDGE_DECLINED),
    "summary": Ask("summary", "confirmed", summary, parse_confirm, "submit", help=t.HELP_SUMMARY),
    "submit": Do("submit", "submit_application", _submit_args,
                 lambda d, c, application: ("result", {"application": application}), _failed,
                 to=("result", *sorted(set(_MENDABLE.values())))),
    "result": End("result", result_message),
})
