"""The REST contract between the bot and the bureau, as data. The HTTP adapter, the sandbox
server and docs/binding-api.yaml are all derived from this table, so they cannot drift apart.

Every `BindingService` method is one operation: its positional arguments are the path
parameters in order, then the JSON body if the operation has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from bot.binding import models as m


@dataclass(frozen=True)
class Operation:
    name: str                         # the BindingService method
    method: str
    path: str
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    idempotent: bool = True           # safe to retry after a timeout or a 5xx
    summary: str = ""

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


OPERATIONS = [
    # A readiness probe (the bot's /readyz): one attempt, never retried, so it answers in time.
    Operation("health", "GET", "/v1/health", m.Health, idempotent=False,
              summary="Whether the service answers; the bot's readiness check asks it"),
    Operation("start_verification", "POST", "/v1/verifications", m.Challenge, m.VerificationStart,
              idempotent=False, summary="Verify who an openid's owner is: sends an SMS code (or gives a face-scan URL)"),
    Operation("complete_verification", "POST", "/v1/verifications/{challenge_id}/complete", m.VerifiedPerson,
              m.VerificationAnswer, idempotent=False, summary="Answer the challenge; links the openid to the insured person"),
    Operation("eligibility", "GET", "/v1/persons/{person_id}/eligibility", m.Eligibility,
              summary="May this person initiate family mutual aid, and if not, why"),
    Operation("submit_application", "POST", "/v1/applications", m.Application, m.ApplicationRequest,
              summary="Apply to bind a family member; the idempotency key makes a resubmission return the same application"),
    Operation("application", "GET", "/v1/applications/{application_id}", m.Application,
              summary="An application's status"),
    Operation("applications", "GET", "/v1/persons/{person_id}/applications", m.ApplicationList,
              summary="This person's applications, newest first (the last 20)"),
    Operation("consent_request", "GET", "/v1/consents/{code}", m.ConsentRequest,
              summary="What a member aged 16+ is asked to consent to"),
    Operation("answer_consent", "POST", "/v1/consents/{code}/answer", m.Application, m.ConsentAnswer,
              idempotent=False, summary="The verified member agrees or declines"),
    Operation("members", "GET", "/v1/persons/{person_id}/members", m.MemberList,
              summary="The family members this person has bound (the bindings where they are the initiator)"),
    Operation("sharers", "GET", "/v1/persons/{person_id}/sharers", m.SharerList,
              summary="The relatives who share their account with this person (the bindings where they are "
              "the member), oldest first"),
    Operation("unbind", "POST", "/v1/persons/{person_id}/bindings/{binding_id}/unbind", m.Member,
              summary="End a binding as either party (the initiator or the member); repeating it returns the "
              "ended binding, whose end_reason says which party ended it. The bureau reports it with a "
              "binding.ended callback"),
    Operation("binding", "GET", "/v1/bindings/{binding_id}", m.Member,
              summary="A binding and its status: the bot confirms binding.ended and binding.terminated "
              "callbacks with it"),
    Operation("deduction_order", "GET", "/v1/persons/{person_id}/bindings/{binding_id}/deduction-order",
              m.DeductionOrder, summary="Whose account pays first for a member shared by several initiators"),
    Operation("set_deduction_order", "PUT", "/v1/persons/{person_id}/bindings/{binding_id}/deduction-order",
              m.DeductionOrder, m.DeductionOrderUpdate, summary="Reorder the payers (initiators only)"),
    Operation("usage", "GET", "/v1/persons/{person_id}/usage", m.Usage,
              summary="Balance, shareable balance and the members' usage records"),
]
