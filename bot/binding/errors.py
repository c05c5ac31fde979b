"""Typed errors: each is exactly one of the domain's error cases (domain.md §7 and the flows'
own), carried over HTTP as {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations


class BindingError(Exception):
    code = "binding_error"
    http_status = 422
    default_message = "the binding service refused the request"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


ERRORS: dict[str, type[BindingError]] = {}


def _error(code: str, message: str, http_status: int = 422) -> type[BindingError]:
    cls = type("".join(part.title() for part in code.split("_")), (BindingError,),
               {"code": code, "default_message": message, "http_status": http_status})
    ERRORS[code] = cls
    return cls


# Identity numbers and names (§7: "ID checksum or date wrong", "Name and ID do not match")
InvalidIdNumber = _error("invalid_id_number", "the ID number's checksum or birth date is wrong")
NameIdMismatch = _error("name_id_mismatch", "name and ID number do not match the authority's record")
# The initiator
InitiatorNotEmployee = _error("initiator_not_employee", "the initiator is not in employee medical insurance")
InitiatorAbnormal = _error("initiator_abnormal", "the initiator's insurance is suspended, ended or in arrears")
NoShareableBalance = _error("no_shareable_balance", "the initiator's account has no shareable balance")
# The relationship
RelationshipForbidden = _error("relationship_forbidden", "in-laws cannot be bound anywhere")
RelationshipNotInRegion = _error("relationship_not_in_region", "this relationship is not allowed in this region yet")
# The member
MemberNotInsured = _error("member_not_insured", "the member is not in employee or resident insurance")
MemberOutsideArea = _error("member_outside_area", "the member is insured outside this pooling area")
MemberOtherProvince = _error("member_other_province", "the member is insured in another province")
MemberBoundElsewhere = _error("member_bound_elsewhere", "the member is bound to another initiator", 409)
AlreadyBound = _error("already_bound", "the member is already bound to this initiator", 409)
CannotAddSelf = _error("cannot_add_self", "an initiator cannot add themselves")
PledgeNotAccepted = _error("pledge_not_accepted", "the pledge was not accepted")
# Consent and proof
ConsentPending = _error("consent_pending", "the member has not given consent yet", 409)
ConsentExpired = _error("consent_expired", "the member did not consent in time", 410)
ConsentDeclined = _error("consent_declined", "the member declined")
ConsentWrongPerson = _error("consent_wrong_person", "only the member named in the application can answer", 403)
ProofMissing = _error("proof_missing", "a minor member needs proof of relationship (户口本 or birth certificate)")
ProofRejected = _error("proof_rejected", "the proof of relationship was not accepted")
# Ending
RelationshipTerminated = _error("relationship_terminated", "the relationship ended because insurance changed")
# Identity verification of the openid's owner
VerificationCodeWrong = _error("verification_code_wrong", "the verification code is wrong")
VerificationExpired = _error("verification_expired", "the verification has expired; start again", 410)
VerificationLocked = _error("verification_locked", "too many attempts; try again later", 429)
NotVerified = _error("not_verified", "this person has not verified who they are", 403)
NotPermitted = _error("not_permitted", "only a party of this binding may do this", 403)
# Lookups and requests
ApplicationNotFound = _error("application_not_found", "no such application", 404)
BindingNotFound = _error("binding_not_found", "no such binding", 404)
ConsentNotFound = _error("consent_not_found", "no such consent code", 404)
PersonNotFound = _error("person_not_found", "no such insured person", 404)
InvalidRequest = _error("invalid_request", "the request is malformed", 400)
# The service itself (timeouts, 5xx, the breaker open): the user is asked to try again later.
ServiceUnavailable = _error("service_unavailable", "the binding service is unavailable", 503)


def error_from_json(status: int, payload: object) -> BindingError:
    """The typed error for an error response; unknown codes stay errors, never successes."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code, message = payload["error"].get("code"), payload["error"].get("message")
        if code in ERRORS:
            return ERRORS[code](message if isinstance(message, str) else None)
    if status >= 500:
        return ServiceUnavailable(f"HTTP {status}")
    return InvalidRequest(f"HTTP {status} without a known error code")
