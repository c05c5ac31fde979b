"""The bureau's refusal codes (domain.md §7): everything the binding service may refuse, each by
its stable code, and the reasons a binding ends. bot/binding/errors.py has one error class per
code; what users are told for each is wording, in the catalogue (flows/texts/refusals.py). A test
keeps the three the same."""

CODES = (
    # ID numbers and names
    "invalid_id_number", "name_id_mismatch",
    # the initiator
    "initiator_not_employee", "initiator_abnormal", "no_shareable_balance",
    # the relationship
    "relationship_forbidden", "relationship_not_in_region",
    # the member
    "member_not_insured", "member_outside_area", "member_other_province", "member_bound_elsewhere",
    "already_bound", "cannot_add_self", "pledge_not_accepted",
    # consent and proof
    "consent_pending", "consent_expired", "consent_declined", "consent_wrong_person", "proof_missing",
    "proof_rejected",
    # ending
    "relationship_terminated",
    # verifying who the user is
    "verification_code_wrong", "verification_expired", "verification_locked", "not_verified", "not_permitted",
    # lookups and requests
    "application_not_found", "binding_not_found", "consent_not_found", "person_not_found", "invalid_request",
    # the service itself (timeouts, 5xx, the breaker open): the user may try again
    "service_unavailable",
)

# Why a binding ended (a member's `end_reason`, a binding.ended decision's reason): not refusals.
END_REASONS = ("ended_by_initiator", "ended_by_member", "insurance_changed")
