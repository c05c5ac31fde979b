"""Bind a family member: eligibility → relationship → name → ID → (age check) → (proof for a
minor) → pledge → summary (确认 or 修改N) → submit → the result in plain words."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import date
from decimal import Decimal
from typing import Any

from flows import texts
from flows.answers import id_number_in, name_in
from flows.context import Context
from flows.domain.identity import mask_id_number, mask_name
from flows.domain.relationships import Relationship
from flows.engine import Ask, Data, Do, End, Entry, Flow, Invalid, Unclear, yes_or_no_answer
from flows.texts import bind_member as t
from flows.texts.refusals import refusal
from flows.texts.relationships import LABELS
from flows.understanding import Reading, read
from flows.understanding.lexicon import SERVICES

FLOW_ID = "bind_member"
VERSION = 1
_WORDS = SERVICES[FLOW_ID]   # flows/understanding/lexicon/services.toml

# How much older than the initiator (years, at least, at most) a member of each relationship can
# plausibly be; anything else is asked about before going on (an 8-year-old “parent”, a “spouse”
# of 8, a “grandchild” older than oneself).
_AGE_GAP = {Relationship.PARENT: (14, 70), Relationship.GRANDPARENT: (28, 100),
            Relationship.CHILD: (-70, -14), Relationship.GRANDCHILD: (-100, -28),
            Relationship.SIBLING: (-35, 35), Relationship.SPOUSE: (-40, 40)}
ADULT = 18   # a spouse younger than this is asked about whatever the gap


def _allowed(ctx: Context) -> list[Relationship]:
    return list(ctx.region.relationships)


def _allowed_text(ctx: Context) -> str:
    return texts.LIST_COMMA.join(LABELS[r] for r in _allowed(ctx))


# -- relationship ------------------------------------------------------------------------------
def ask_relationship(data: Data, ctx: Context) -> str:
    choices = "\n".join(f"{i}. {LABELS[r]}" for i, r in enumerate(_allowed(ctx), start=1))
    balance = Decimal(data.get("shareable_balance") or "0")
    return t.ASK_RELATIONSHIP.format(balance=f"{balance:,.2f}", choices=choices)


def parse_relationship(text: str, data: Data, ctx: Context) -> str:
    """A number from the list (2, 第一个, 一), a relationship in any words (我的老伴, 俺娘, 孙女儿),
    a pinyin slip (老拌); a word that may mean two relatives (媳妇) or is another word (老板) is
    asked about; relatives the rules never allow are refused with the reason."""
    allowed, reading = _allowed(ctx), read(text)
    if reading.number is not None:
        if 1 <= reading.number <= len(allowed):
            return allowed[reading.number - 1].value
        raise Invalid(t.BAD_RELATIONSHIP_NUMBER.format(count=len(allowed)), ask_again=True)
    picked = text.strip()
    if picked in Relationship.__members__.values() or picked in t.REFUSED_KIN:
        return _relationship(picked, picked, ctx)   # a choice picked from our own question (媳妇: 1 or 2)
    kin = reading.kin or reading.kin_within
    if kin is None:
        raise Invalid(t.BAD_RELATIONSHIP, ask_again=True)
    if kin.typed:
        raise Unclear(t.DID_YOU_MEAN.format(word=kin.word), choices=(kin.word,))
    if kin.options:
        raise Unclear(t.WHICH_RELATIVE.format(word=kin.word, choices="\n".join(
            f"{i}. {t.KIN_LABELS[option]}" for i, option in enumerate(kin.options, start=1))), choices=kin.options)
    return _relationship(kin.relationship or "", kin.refused or "", ctx)


def _relationship(relationship: str, refused: str, ctx: Context) -> str:
    if refused in t.REFUSED_KIN:
        raise Invalid(t.REFUSED.format(who=t.REFUSED_KIN[refused]), ask_again=True)
    relation = Relationship(relationship)
    if relation is Relationship.PARENT_IN_LAW:
        raise Invalid(refusal("relationship_forbidden"), ask_again=True)
    if relation not in _allowed(ctx):
        raise Invalid(refusal("relationship_not_in_region") + t.NOT_HERE.format(allowed=_allowed_text(ctx)),
                      ask_again=True)
    return relation.value


# -- the member ----------------------------------------------------------------------------------
def parse_name(text: str, data: Data, ctx: Context) -> str:
    if read(text).self_named:
        raise Invalid(t.NOT_YOUR_NAME)   # 我叫王建国: the user's own name, not the member's
    return name_in(text, t.CONFIRM_NAME)


def parse_member_id(text: str, data: Data, ctx: Context) -> dict[str, Any]:
    number = id_number_in(text, ctx.today)
    if ctx.is_users_own(number.value):
        raise Invalid(t.SELF)
    return {"value": number.value, "type": number.type.value, "birth_date": number.birth_date.isoformat(),
            "sex": number.sex, "age": number.age_on(ctx.today)}


def implausible_age(data: Data, ctx: Context) -> str | None:
    """'older', 'younger' or 'minor' when the ID number does not fit the relationship (a 'child'
    older than me, an 8-year-old 'parent' or 'spouse'); None when it fits."""
    relation = Relationship(data["relationship"])
    if relation is Relationship.SPOUSE and data["member_id"]["age"] < ADULT:
        return "minor"
    gap, initiator = _AGE_GAP.get(relation), ctx.user.birth_date
    if gap is None or initiator is None:
        return None
    member = date.fromisoformat(data["member_id"]["birth_date"])
    older_by = (initiator - member).days / 365.25
    if older_by < gap[0]:
        return "younger"
    if older_by > gap[1]:
        return "older"
    return None


def needs_proof(data: Data, ctx: Context) -> bool:
    return ctx.region.minor_proof_required and data["member_id"]["age"] < ctx.region.consent_age


def after_id(data: Data, ctx: Context) -> str:
    if implausible_age(data, ctx):
        return "age_check"
    return after_age_check(data, ctx)


def after_age_check(data: Data, ctx: Context) -> str:
    if data.get("age_confirmed") is False:
        return "member_id"
    return "proof" if needs_proof(data, ctx) else "pledge"


def ask_age(data: Data, ctx: Context) -> str:
    return t.ASK_AGE.format(relationship=LABELS[Relationship(data["relationship"])], age=data["member_id"]["age"])


parse_yes_no = yes_or_no_answer(t.YES_OR_NO)


# -- pledge and summary --------------------------------------------------------------------------
parse_pledge = yes_or_no_answer(t.AGREE_OR_NOT, kind="pledge")


def summary(data: Data, ctx: Context) -> str:
    member = data["member_id"]
    number, sex = mask_id_number(member["value"]), t.SEX.get(member["sex"] or "")
    details = (t.ID_DETAILS_WITH_SEX.format(number=number, sex=sex, age=member["age"]) if sex
               else t.ID_DETAILS.format(number=number, age=member["age"]))
    items = [(t.ITEMS["relationship"], LABELS[Relationship(data["relationship"])]),
             (t.ITEMS["member_name"], mask_name(data["member_name"])),
             (t.ID_TYPES.get(member["type"], t.ITEMS["member_id"]), details)]
    if data.get("proof"):
        items.append((t.ITEMS["proof"], t.PROOF_ATTACHED))
    return t.SUMMARY.format(items="\n".join(f"{i}. {t.ITEM.format(label=label, value=value)}"
                                            for i, (label, value) in enumerate(items, start=1)))


def parse_confirm(text: str, data: Data, ctx: Context) -> bool:
    if read(text).yes_no("summary"):
        return True
    raise Invalid(t.BAD_SUMMARY)


# -- effects and results -------------------------------------------------------------------------
def _eligibility_checked(data: Data, ctx: Context, result: Any) -> tuple[str, dict]:
    if not result["eligible"]:
        return "not_eligible", {"reason": result["reason"]}
    return "relationship", {"shareable_balance": str(result["shareable_balance"])}


def _submit_args(data: Data, ctx: Context) -> dict[str, Any]:
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


def _failed(data: Data, ctx: Context, code: str) -> tuple[str | None, str]:
    step = _MENDABLE.get(code)
    if step == "proof" and not needs_proof(data, ctx):
        step = None
    return step, refusal(code)


def result_message(data: Data, ctx: Context) -> str:
    application = data["application"]
    relationship, name = LABELS[Relationship(data["relationship"])], mask_name(data["member_name"])
    status = application["status"]
    if status == "approved":
        return t.APPROVED.format(relationship=relationship, name=name)
    if status == "pending_consent":
        consent = application["consent"]
        expires = ctx.local(consent["expires_at"]).strftime(texts.DAY_AND_TIME)
        return t.PENDING_CONSENT.format(relationship=relationship, name=name, code=consent["code"], expires=expires,
                                        url=consent["url"]) + _subscribe(ctx)
    if status == "under_review":
        return t.UNDER_REVIEW + _subscribe(ctx)
    return t.REJECTED.format(reason=refusal(application.get("reason") or ""))


def _subscribe(ctx: Context) -> str:
    """The result comes later: where to subscribe to its notice, when it goes out as one."""
    return "\n" + t.SUBSCRIBE.format(url=html.escape(ctx.subscribe_link)) if ctx.subscribe_link else ""


# -- starting it ---------------------------------------------------------------------------------
_FIELD_OF = {"relationship": "relationship", "name": "member_name", "id_number": "member_id"}   # slot → step


def start_data(reading: Reading | None, ctx: Context) -> dict[str, Any]:
    """A new submission key; and whatever the first sentence already said about the member
    (帮我把老伴李秀英绑上，身份证3301…): used at its step instead of asking, shown in the summary."""
    data: dict[str, Any] = {"idempotency_key": ctx.fresh_id}
    if reading is None:
        return data
    prefill = {_FIELD_OF[kind]: value for kind, value in reading.slots.items()}
    return {**data, "prefill": prefill} if prefill else data


ENTRY = Entry(phrases=tuple(_WORDS["phrases"]), menu_key="BIND_MEMBER", start_data=start_data)


FLOW = Flow(id=FLOW_ID, version=VERSION, title=t.TITLE, first="eligibility", entry=ENTRY, steps={
    "eligibility": Do(effect="eligibility", args=lambda d, c: {}, on_ok=_eligibility_checked,
                      on_error=lambda d, c, code: (None, refusal(code)), to=("relationship", "not_eligible")),
    "not_eligible": End(message=lambda d, c: t.NOT_ELIGIBLE.format(reason=refusal(d["reason"]))),
    "relationship": Ask(field="relationship", prompt=ask_relationship, parse=parse_relationship, next="member_name",
                        label=t.ITEMS["relationship"], slot="relationship", aliases=tuple(_WORDS["aliases"]["relationship"]),
                        help=t.HELP_RELATIONSHIP),
    "member_name": Ask(field="member_name", prompt=lambda d, c: t.ASK_NAME, parse=parse_name, next="member_id",
                       help=t.HELP_NAME, label=t.ITEMS["member_name"], slot="name", aliases=tuple(_WORDS["aliases"]["member_name"])),
    "member_id": Ask(field="member_id", prompt=lambda d, c: t.ASK_ID, parse=parse_member_id, next=after_id,
                     to=("age_check", "proof", "pledge"), help=t.HELP_ID, label=t.ITEMS["member_id"], slot="id_number",
                     aliases=tuple(_WORDS["aliases"]["member_id"])),
    # Asked again whenever the relationship or the ID number changes (修改 at the summary).
    "age_check": Ask(field="age_confirmed", prompt=ask_age, parse=parse_yes_no, next=after_age_check,
                     to=("member_id", "proof", "pledge"), depends=("relationship", "member_id")),
    "proof": Ask(field="proof", prompt=lambda d, c: t.ASK_PROOF.format(age=c.region.consent_age),
                 parse=lambda media_id, d, c: media_id, next="pledge", help=t.HELP_PROOF,
                 label=t.ITEMS["proof"], wants_image=True, depends=("member_id",),
                 aliases=tuple(_WORDS["aliases"]["proof"])),
    "pledge": Ask(field="pledge", prompt=lambda d, c: t.ASK_PLEDGE, parse=parse_pledge,
                  next=lambda d, c: "summary" if d["pledge"] else "pledge_declined",
                  to=("summary", "pledge_declined"), help=t.HELP_PLEDGE),
    "pledge_declined": End(message=lambda d, c: t.PLEDGE_DECLINED),
    "summary": Ask(field="confirmed", prompt=summary, parse=parse_confirm, next="submit", help=t.HELP_SUMMARY),
    "submit": Do(effect="submit_application", args=_submit_args,
                 on_ok=lambda d, c, application: ("result", {"application": application}), on_error=_failed,
                 to=("result", *sorted(set(_MENDABLE.values())))),
    "result": End(message=result_message),
})
