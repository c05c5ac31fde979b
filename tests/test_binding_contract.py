"""One contract suite, run against the sandbox in-process and against the HTTP adapter talking
to the sandbox server over real HTTP. Every rule of domain.md §3 expects its typed error."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from bot.background import BackgroundServer
from bot.binding import errors as e
from bot.binding.http import HttpBindingService
from bot.binding.models import (
    ApplicationRequest,
    ApplicationStatus,
    BindingStatus,
    ConsentAnswer,
    DeductionOrderUpdate,
    VerificationAnswer,
    VerificationStart,
)
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.server import create_sandbox_app
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import SigningKey
from bot.config import BindingSettings, RegionSettings, SandboxSettings
from flows.domain.relationships import BASELINE, Relationship
from tests.support.binding import Clock, person

CODE = "246810"
KEY = SigningKey("test-key", "test-secret-of-sixteen+")


@pytest.fixture(params=["sandbox", "http"])
def adapter(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(adapter, redis_client, clock):
    """Build (service, sandbox) for the region and sandbox settings a test needs."""
    servers = []

    def make(region: dict | None = None, log_codes: bool = True, **sandbox: object):
        sandbox_service = SandboxService(redis_client, Roster.load(None), RegionSettings(**(region or {})),
                                         SandboxSettings(verification_code=CODE, **sandbox), clock=clock,
                                         log_codes=log_codes)
        if adapter == "sandbox":
            return sandbox_service, sandbox_service
        server = BackgroundServer(create_sandbox_app(sandbox_service, KEY)).start()
        servers.append(server)
        settings = BindingSettings(adapter="http", key_id=KEY.key_id, secret=KEY.secret,
                                   http={"base_url": server.url, "retries": 0})
        return HttpBindingService(settings), sandbox_service

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def service(make_service):
    return make_service()[0]


def verified(service, name: str, openid: str | None = None, code: str = CODE) -> str:
    who = person(name)
    openid = openid or f"o_{uuid.uuid4().hex[:8]}"
    challenge = service.start_verification(VerificationStart(openid=openid, name=who.name, id_number=who.id_number))
    return service.complete_verification(challenge.challenge_id, VerificationAnswer(openid=openid, code=code)).person_id


def apply(service, initiator_id: str, member: str, relationship: Relationship = Relationship.SPOUSE,
          key: str | None = None, **changes):
    who = person(member)
    request = {"initiator_id": initiator_id, "member_name": who.name, "member_id_number": who.id_number,
                   "relationship": relationship, "pledge_accepted": True,
                   "idempotency_key": key or uuid.uuid4().hex}
    request.update(changes)
    return service.submit_application(ApplicationRequest(**request))


# -- identity verification -----------------------------------------------------------------------
def test_verification_sends_a_code_to_the_masked_phone_and_links_the_person(service) -> None:
    who = person("王建国")
    challenge = service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
    assert challenge.method == "sms"
    assert challenge.masked_phone == "138****0001"
    verified_person = service.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o1", code=CODE))
    assert verified_person.person_id == who.person_id
    assert verified_person.masked_name == "王**"
    assert verified_person.masked_id_number == who.id_number[:4] + "*" * 10 + who.id_number[-4:]


def test_verification_normalises_what_people_type(service) -> None:
    who = person("王建国")
    typed = " ".join(who.id_number[i:i + 6] for i in range(0, 18, 6)).translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))
    assert service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=typed)).challenge_id


@pytest.mark.parametrize("name, id_number, error", [
    ("王建国", "330106196203150112", e.InvalidIdNumber),         # checksum
    ("王建国", "330106196213150111", e.InvalidIdNumber),         # month 13
    ("李建国", person("王建国").id_number, e.NameIdMismatch),     # name differs
    ("王建国", "11010519491231002X", e.NameIdMismatch),          # valid number, not on file
])
def test_verification_refusals(service, name, id_number, error) -> None:
    with pytest.raises(error):
        service.start_verification(VerificationStart(openid="o1", name=name, id_number=id_number))


def test_a_code_takes_three_tries_then_a_new_one_is_needed(service) -> None:
    who = person("王建国")
    challenge = service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
    for _ in range(2):
        with pytest.raises(e.VerificationCodeWrong):
            service.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o1", code="000000"))
    with pytest.raises(e.VerificationExpired):   # the third wrong try spends the code
        service.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o1", code="000000"))
    with pytest.raises(e.VerificationExpired):   # the right code no longer helps
        service.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o1", code=CODE))


def test_five_wrong_codes_lock_the_challenger_not_the_person(service) -> None:
    who = person("王建国")

    def wrong(openid: str) -> None:
        challenge = service.start_verification(VerificationStart(openid=openid, name=who.name,
                                                                 id_number=who.id_number))
        service.complete_verification(challenge.challenge_id, VerificationAnswer(openid=openid, code="000000"))

    for _ in range(4):
        with pytest.raises(e.VerificationCodeWrong):
            wrong("o_stranger")
    with pytest.raises(e.VerificationLocked):   # exactly the fifth
        wrong("o_stranger")
    with pytest.raises(e.VerificationLocked):
        service.start_verification(VerificationStart(openid="o_stranger", name=who.name, id_number=who.id_number))
    # The person, from their own WeChat, is not locked out by the stranger.
    assert verified(service, "王建国", openid="o_own")


def test_another_openid_cannot_answer_the_challenge(service) -> None:
    who = person("王建国")
    challenge = service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
    with pytest.raises(e.VerificationExpired):
        service.complete_verification(challenge.challenge_id, VerificationAnswer(openid="o_other", code=CODE))


# -- eligibility ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, reason", [
    ("王建国", None),
    ("刘芳", "initiator_not_employee"),
    ("陈大山", "initiator_abnormal"),
    ("张伟", "no_shareable_balance"),
])
def test_eligibility(service, name, reason) -> None:
    eligibility = service.eligibility(verified(service, name))
    assert eligibility.eligible is (reason is None)
    assert eligibility.reason == reason


def test_zhejiang_style_region_shares_only_the_carried_over_balance(make_service) -> None:
    service, _ = make_service(region={"shareable_balance": "carried_over"})
    assert service.eligibility(verified(service, "王建国")).shareable_balance == Decimal("3200.00")
    service, _ = make_service()
    assert service.eligibility(verified(service, "王建国")).shareable_balance == Decimal("8650.00")


def test_unverified_person_cannot_be_asked_about(service) -> None:
    with pytest.raises(e.NotVerified):
        service.eligibility(person("王建国").person_id)


# -- applications: every rule ----------------------------------------------------------------------
def test_spouse_aged_16_plus_waits_for_consent_then_is_approved(service) -> None:
    me = verified(service, "王建国")
    application = apply(service, me, "李秀英")
    assert application.status == ApplicationStatus.PENDING_CONSENT
    assert application.member_masked_name == "李**"
    assert "1964" not in application.member_masked_id_number
    code = application.consent.code

    request = service.consent_request(code)
    assert (request.initiator_masked_name, request.relationship) == ("王**", Relationship.SPOUSE)
    with pytest.raises(e.ConsentWrongPerson):
        service.answer_consent(code, ConsentAnswer(person_id=verified(service, "王小明"), agree=True))

    answered = service.answer_consent(code, ConsentAnswer(person_id=verified(service, "李秀英"), agree=True))
    assert answered.status == ApplicationStatus.APPROVED
    assert service.application(application.application_id).binding_id == answered.binding_id
    [member] = service.members(me).members
    assert (member.binding_id, member.status, member.masked_name) == (answered.binding_id, BindingStatus.ACTIVE, "李**")


def test_declined_consent_rejects(service) -> None:
    application = apply(service, verified(service, "王建国"), "李秀英")
    answered = service.answer_consent(application.consent.code,
                                      ConsentAnswer(person_id=verified(service, "李秀英"), agree=False))
    assert (answered.status, answered.reason) == (ApplicationStatus.REJECTED, "consent_declined")


def test_consent_times_out(service, clock) -> None:
    application = apply(service, verified(service, "王建国"), "李秀英")
    clock.advance(24 * 3600 + 1)
    with pytest.raises(e.ConsentExpired):
        service.answer_consent(application.consent.code,
                               ConsentAnswer(person_id=verified(service, "李秀英"), agree=True))
    refreshed = service.application(application.application_id)
    assert (refreshed.status, refreshed.reason) == (ApplicationStatus.REJECTED, "consent_expired")


def test_minor_needs_proof_and_then_needs_no_consent(service) -> None:
    me = verified(service, "王建国")
    with pytest.raises(e.ProofMissing):
        apply(service, me, "王朵朵", Relationship.GRANDCHILD)
    application = apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["media-1"])
    assert application.status == ApplicationStatus.APPROVED


def test_region_without_proof_rule_accepts_a_minor_without_photo(make_service) -> None:
    service, _ = make_service(region={"minor_proof_required": False})
    application = apply(service, verified(service, "王建国"), "王朵朵", Relationship.GRANDCHILD)
    assert application.status == ApplicationStatus.APPROVED


@pytest.mark.parametrize("initiator, member, relationship, changes, error", [
    ("王建国", "李秀英", Relationship.SPOUSE, {"pledge_accepted": False}, e.PledgeNotAccepted),
    ("王建国", "王建国", Relationship.SPOUSE, {}, e.CannotAddSelf),
    ("王建国", "李秀英", Relationship.PARENT_IN_LAW, {}, e.RelationshipForbidden),
    ("王建国", "李秀英", Relationship.SPOUSE, {"member_name": "李秀"}, e.NameIdMismatch),
    ("王建国", "李秀英", Relationship.SPOUSE, {"member_id_number": "330106196408220225"}, e.InvalidIdNumber),
    ("王建国", "孙梅", Relationship.PARENT, {}, e.MemberNotInsured),
    ("王建国", "赵丽", Relationship.CHILD, {}, e.MemberOtherProvince),
    ("刘芳", "李秀英", Relationship.SIBLING, {}, e.InitiatorNotEmployee),
    ("陈大山", "李秀英", Relationship.SIBLING, {}, e.InitiatorAbnormal),
    ("张伟", "李秀英", Relationship.SIBLING, {}, e.NoShareableBalance),
])
def test_rule_refusals(service, initiator, member, relationship, changes, error) -> None:
    with pytest.raises(error):
        apply(service, verified(service, initiator), member, relationship, **changes)


def test_unverified_initiator_cannot_apply(service) -> None:
    with pytest.raises(e.NotVerified):
        apply(service, person("王建国").person_id, "李秀英")


def test_relationship_not_yet_allowed_in_a_baseline_region(make_service) -> None:
    service, _ = make_service(region={"relationships": list(BASELINE)})
    with pytest.raises(e.RelationshipNotInRegion):
        apply(service, verified(service, "王建国"), "王建华", Relationship.SIBLING)


def test_other_city_same_province_depends_on_the_area_scope(make_service) -> None:
    service, _ = make_service(region={"scope": "city"})
    with pytest.raises(e.MemberOutsideArea):
        apply(service, verified(service, "王建国"), "王建华", Relationship.SIBLING)
    service, _ = make_service(region={"scope": "province"})
    assert apply(service, verified(service, "王建国"), "王建华", Relationship.SIBLING).status == "pending_consent"


def test_already_bound_to_me_while_pending_and_once_approved(service) -> None:
    me = verified(service, "王建国")
    apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    with pytest.raises(e.AlreadyBound):
        apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    apply(service, me, "李秀英")
    with pytest.raises(e.AlreadyBound):
        apply(service, me, "李秀英")


def test_one_relationship_only_region_refuses_a_member_bound_elsewhere(make_service) -> None:
    service, _ = make_service(region={"one_relationship_only": True})
    apply(service, verified(service, "周强"), "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    with pytest.raises(e.MemberBoundElsewhere):
        apply(service, verified(service, "王建国"), "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])


def test_shared_member_allowed_where_the_region_allows_it(service) -> None:
    apply(service, verified(service, "周强"), "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    second = apply(service, verified(service, "王建国"), "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    assert second.status == ApplicationStatus.APPROVED


def test_same_idempotency_key_returns_the_same_application(service) -> None:
    me = verified(service, "王建国")
    first = apply(service, me, "李秀英", key="same-key-123")
    again = apply(service, me, "李秀英", key="same-key-123")
    assert again.application_id == first.application_id
    assert again == service.application(first.application_id)


def test_same_idempotency_key_after_a_refusal_refuses_the_same_way(service) -> None:
    me = verified(service, "王建国")
    for _ in range(2):
        with pytest.raises(e.MemberNotInsured):
            apply(service, me, "孙梅", Relationship.PARENT, key="refused-key-1")


def test_unknown_application(service) -> None:
    with pytest.raises(e.ApplicationNotFound):
        service.application("A0000000000000000")


# -- bindings: unbind, deduction order, usage ------------------------------------------------------
def approved_grandchild(service, initiator: str) -> tuple[str, str]:
    me = verified(service, initiator)
    application = apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    return me, application.binding_id


def test_unbind_by_a_party_is_final_and_repeatable(service) -> None:
    me, binding_id = approved_grandchild(service, "王建国")
    ended = service.unbind(me, binding_id)
    assert ended.status == BindingStatus.ENDED
    assert service.unbind(me, binding_id).ended_at == ended.ended_at
    assert service.members(me).members[0].status == BindingStatus.ENDED


def test_unbind_says_who_ended_it(service, clock) -> None:
    me, binding_id = approved_grandchild(service, "王建国")
    assert service.unbind(me, binding_id).end_reason == "ended_by_initiator"
    clock.advance(60)
    child = apply(service, me, "王小明", Relationship.CHILD)
    son_id = verified(service, "王小明")
    service.answer_consent(child.consent.code, ConsentAnswer(person_id=son_id, agree=True))
    assert service.unbind(son_id, service.application(child.application_id).binding_id).end_reason == "ended_by_member"
    assert [m.end_reason for m in service.members(me).members] == ["ended_by_initiator", "ended_by_member"]


def test_the_member_sees_who_shares_with_them_and_may_end_it(service, clock) -> None:
    me = verified(service, "王建国")
    son = apply(service, me, "王小明", Relationship.CHILD)
    son_id = verified(service, "王小明")
    service.answer_consent(son.consent.code, ConsentAnswer(person_id=son_id, agree=True))
    clock.advance(60)
    _, other = approved_grandchild(service, "周强")
    binding_id = service.application(son.application_id).binding_id
    assert service.sharers(me).sharers == []            # 王建国 shares, nobody shares with him
    assert service.members(son_id).members == []        # 王小明 shares with nobody
    [sharer] = service.sharers(son_id).sharers
    assert (sharer.binding_id, sharer.application_id, sharer.relationship, sharer.status) == (
        binding_id, son.application_id, Relationship.CHILD, BindingStatus.ACTIVE)
    assert (sharer.initiator_masked_name, sharer.initiator_masked_id_number) == (
        "王**", "3301**********0111")
    granddaughter = verified(service, "王朵朵")           # shared by two: both listed, oldest first
    clock.advance(60)
    apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    assert [s.initiator_masked_name for s in service.sharers(granddaughter).sharers] == ["周*", "王**"]
    assert service.sharers(granddaughter).sharers[0].binding_id == other

    ended = service.unbind(son_id, binding_id)
    assert (ended.status, ended.end_reason) == (BindingStatus.ENDED, "ended_by_member")
    [sharer] = service.sharers(son_id).sharers
    assert (sharer.status, sharer.end_reason, sharer.ended_at) == (BindingStatus.ENDED, "ended_by_member",
                                                                   ended.ended_at)
    assert service.members(me).members[0].status == BindingStatus.ENDED
    with pytest.raises(e.NotVerified):
        service.sharers(person("李秀英").person_id)


def test_a_binding_by_its_id_says_its_status_whoever_asks(make_service) -> None:
    # How the bot confirms a binding.ended / binding.terminated callback (bot.binding.confirm).
    service, sandbox = make_service()
    me, binding_id = approved_grandchild(service, "王建国")
    binding = service.binding(binding_id)
    assert service.members(me).members == [binding]
    assert (binding.status, binding.application_id) == (BindingStatus.ACTIVE, service.applications(me)
                                                        .applications[0].application_id)
    assert service.binding(service.unbind(me, binding_id).binding_id).status == BindingStatus.ENDED
    _, other = approved_grandchild(service, "周强")
    sandbox.terminate(other)
    terminated = service.binding(other)
    assert (terminated.status, terminated.end_reason) == (BindingStatus.TERMINATED, "insurance_changed")
    with pytest.raises(e.BindingNotFound):
        service.binding("B0000000000000000")


def test_applications_newest_first_with_their_status(service, clock) -> None:
    me = verified(service, "王建国")
    assert service.applications(me).applications == []
    child = apply(service, me, "王小明", Relationship.CHILD)
    clock.advance(60)
    grandchild = apply(service, me, "王朵朵", Relationship.GRANDCHILD, proof_media_ids=["m"])
    listed = service.applications(me).applications
    assert [(a.application_id, a.status) for a in listed] == [
        (grandchild.application_id, ApplicationStatus.APPROVED),
        (child.application_id, ApplicationStatus.PENDING_CONSENT)]
    assert listed[1].consent.code == child.consent.code
    with pytest.raises(e.PersonNotFound):
        service.applications("P-nobody")


def test_applications_are_private_to_the_verified_person(service) -> None:
    me = verified(service, "王建国")
    apply(service, me, "王小明", Relationship.CHILD)
    with pytest.raises(e.NotVerified):
        service.applications(person("周强").person_id)


def test_unbind_by_a_stranger_is_refused(service) -> None:
    _, binding_id = approved_grandchild(service, "王建国")
    with pytest.raises(e.NotPermitted):
        service.unbind(verified(service, "周强"), binding_id)


def test_deduction_order_for_a_shared_member(service) -> None:
    first_id, first_binding = approved_grandchild(service, "王建国")
    second_id, second_binding = approved_grandchild(service, "周强")
    order = service.deduction_order(first_id, first_binding)
    assert [(p.binding_id, p.is_me) for p in order.payers] == [(first_binding, True), (second_binding, False)]

    changed = service.set_deduction_order(second_id, second_binding,
                                          DeductionOrderUpdate(order=[second_binding, first_binding]))
    assert [p.initiator_masked_name for p in changed.payers] == ["周*", "王**"]
    with pytest.raises(e.InvalidRequest):
        service.set_deduction_order(first_id, first_binding, DeductionOrderUpdate(order=[first_binding]))
    with pytest.raises(e.NotPermitted):
        service.deduction_order(first_id, second_binding)


def test_usage_records_and_balances(make_service) -> None:
    service, sandbox = make_service()
    me, binding_id = approved_grandchild(service, "王建国")
    sandbox.record_usage(binding_id, "西湖区定点药店", Decimal("35.50"))
    usage = service.usage(me)
    assert usage.balance == Decimal("8614.50")
    assert [(r.member_masked_name, r.place, r.amount) for r in usage.records] == [("王**", "西湖区定点药店", Decimal("35.50"))]


def test_automatic_termination_shows_in_the_members_list(make_service) -> None:
    service, sandbox = make_service()
    me, binding_id = approved_grandchild(service, "王建国")
    sandbox.terminate(binding_id)
    [member] = service.members(me).members
    assert (member.status, member.end_reason) == (BindingStatus.TERMINATED, "insurance_changed")


def test_no_personal_data_reaches_the_logs(service, capfd) -> None:
    me = verified(service, "王建国")
    application = apply(service, me, "李秀英")
    service.answer_consent(application.consent.code, ConsentAnswer(person_id=verified(service, "李秀英"), agree=True))
    with pytest.raises(e.NameIdMismatch):
        apply(service, me, "孙梅", member_name="孙小梅")
    output = "".join(capfd.readouterr())
    assert "sandbox_sms_code" in output  # the logs are captured here
    for name in ("王建国", "李秀英", "孙梅"):
        who = person(name)
        assert who.name not in output and who.id_number not in output


def test_outside_development_the_sandbox_logs_no_code(make_service, capfd) -> None:
    service, _ = make_service(log_codes=False)
    verified(service, "王建国")
    output = "".join(capfd.readouterr())
    assert "sandbox_sms_code" not in output and CODE not in output
    assert "13800000001" not in output and "孙小梅" not in output
