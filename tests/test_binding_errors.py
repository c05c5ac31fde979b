"""Each error code is one class, and it survives the trip over HTTP as that class."""

from __future__ import annotations

import pytest

from bot.binding import errors as e

DOMAIN_ERRORS_OF_SECTION_7 = {
    "invalid_id_number", "name_id_mismatch", "initiator_not_employee", "initiator_abnormal",
    "no_shareable_balance", "relationship_forbidden", "relationship_not_in_region", "member_not_insured",
    "member_other_province", "member_bound_elsewhere", "already_bound", "cannot_add_self",
    "consent_pending", "consent_expired", "proof_missing", "proof_rejected", "relationship_terminated",
}


def test_every_case_of_domain_section_7_has_its_error() -> None:
    assert set(e.ERRORS) >= DOMAIN_ERRORS_OF_SECTION_7


@pytest.mark.parametrize("code", sorted(e.ERRORS))
def test_error_round_trip(code: str) -> None:
    error = e.ERRORS[code]()
    back = e.error_from_json(error.http_status, error.to_json())
    assert type(back) is type(error)
    assert back.code == code and back.message == error.message


def test_classes_are_distinct() -> None:
    assert len(set(e.ERRORS.values())) == len(e.ERRORS)


@pytest.mark.parametrize("status, payload, expected", [
    (503, None, e.ServiceUnavailable),
    (502, {"error": {"code": "no_such_code"}}, e.ServiceUnavailable),
    (418, "teapot", e.InvalidRequest),
    (422, {"error": {"code": "no_such_code", "message": "x"}}, e.InvalidRequest),
])
def test_unknown_error_responses_are_never_successes(status, payload, expected) -> None:
    assert type(e.error_from_json(status, payload)) is expected


def test_every_error_code_has_a_plain_chinese_explanation() -> None:
    from flows.domain.refusals import CODES
    from flows.texts.refusals import REFUSALS
    assert set(REFUSALS) == set(CODES) == set(e.ERRORS)
