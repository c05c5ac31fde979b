"""Run a flow's effect through the binding service and turn the answer into an `EffectDone`:
models become plain data, typed errors become their codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from bot.binding import errors as e
from bot.binding.models import (
    ApplicationRequest,
    ConsentAnswer,
    DeductionOrderUpdate,
    VerificationAnswer,
    VerificationStart,
)
from bot.binding.service import BindingService
from bot.logs import log
from flows.engine import Effect, EffectDone


def run_effect(effect: Effect, binding: BindingService, openid: str, person_id: str | None) -> EffectDone:
    args = effect.args
    try:
        result = _call(effect.name, args, binding, openid, person_id)
    except e.BindingError as error:
        return EffectDone(effect.name, ok=False, error=error.code)
    except Exception:  # noqa: BLE001 - any other failure of the service is "try again later"
        log.exception("effect_failed", effect=effect.name)
        return EffectDone(effect.name, ok=False, error=e.ServiceUnavailable.code)
    return EffectDone(effect.name, ok=True, value=result.model_dump(mode="json"))


def _call(name: str, args: dict[str, Any], binding: BindingService, openid: str, person_id: str | None) -> BaseModel:
    if name == "start_verification":
        return binding.start_verification(VerificationStart(openid=openid, **args))
    if name == "complete_verification":
        return binding.complete_verification(args["challenge_id"], VerificationAnswer(openid=openid, code=args["code"]))
    if name not in _AS_THE_PERSON:
        raise ValueError(f"unknown effect {name}")
    if person_id is None:
        raise e.NotVerified()
    return _AS_THE_PERSON[name](binding, person_id, args)


# Effects on the verified person's behalf: (service, person id, args) -> the service's answer.
_AS_THE_PERSON: dict[str, Callable[[BindingService, str, dict[str, Any]], Any]] = {
    "eligibility": lambda b, person, args: b.eligibility(person),
    "submit_application": lambda b, person, args: b.submit_application(ApplicationRequest(initiator_id=person, **args)),
    "consent_request": lambda b, person, args: b.consent_request(args["code"]),
    "answer_consent": lambda b, person, args: b.answer_consent(
        args["code"], ConsentAnswer(person_id=person, agree=args["agree"])),
    "members": lambda b, person, args: b.members(person),
    "sharers": lambda b, person, args: b.sharers(person),
    "applications": lambda b, person, args: b.applications(person),
    "unbind": lambda b, person, args: b.unbind(person, args["binding_id"]),
    # The same call by the binding's member: its own name, for the decision's follow-up (whom to tell).
    "unbind_as_member": lambda b, person, args: b.unbind(person, args["binding_id"]),
    "deduction_order": lambda b, person, args: b.deduction_order(person, args["binding_id"]),
    "set_deduction_order": lambda b, person, args: b.set_deduction_order(
        person, args["binding_id"], DeductionOrderUpdate(order=args["order"])),
    "usage": lambda b, person, args: b.usage(person),
}
