"""Run a flow's effect through the binding service and turn the answer into an `EffectDone`:
models become plain data, typed errors become their codes."""

from __future__ import annotations

from typing import Any

from bot.binding import errors as e
from bot.binding.models import (ApplicationRequest, ConsentAnswer, VerificationAnswer, VerificationStart)
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


def _call(name: str, args: dict[str, Any], binding: BindingService, openid: str, person_id: str | None):  # noqa: ANN202
    if name == "start_verification":
        return binding.start_verification(VerificationStart(openid=openid, **args))
    if name == "complete_verification":
        return binding.complete_verification(args["challenge_id"], VerificationAnswer(openid=openid, code=args["code"]))
    if person_id is None:
        raise e.NotVerified()
    if name == "eligibility":
        return binding.eligibility(person_id)
    if name == "submit_application":
        return binding.submit_application(ApplicationRequest(initiator_id=person_id, **args))
    if name == "consent_request":
        return binding.consent_request(args["code"])
    if name == "answer_consent":
        return binding.answer_consent(args["code"], ConsentAnswer(person_id=person_id, agree=args["agree"]))
    raise ValueError(f"unknown effect {name}")
