"""The sandbox bureau: every rule of domain.md §3, region rules from settings, state in Redis
(store.py: what it keeps, by kind; the rules here never see a key).

Decisions that happen later than the call that caused them (delayed or manual review, consent
timing out, automatic termination) are written to its outbox (outbox.py); the desk (desk.py)
delivers them to the bot's callback, the same path the real system uses.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import redis

from bot.binding import errors as e
from bot.binding.models import (
    Application,
    ApplicationList,
    ApplicationRequest,
    ApplicationStatus,
    BindingStatus,
    Challenge,
    Consent,
    ConsentAnswer,
    ConsentRequest,
    Decision,
    DeductionOrder,
    DeductionOrderUpdate,
    Eligibility,
    Health,
    Insurance,
    Member,
    MemberList,
    Payer,
    Sharer,
    SharerList,
    Usage,
    UsageRecord,
    VerificationAnswer,
    VerificationStart,
    VerifiedPerson,
)
from bot.binding.sandbox.outbox import Outbox
from bot.binding.sandbox.roster import Person, Roster, person_id_for
from bot.binding.sandbox.store import Role, SandboxStore
from bot.config import RegionSettings, SandboxSettings
from bot.logs import log
from flows.domain.identity import IdNumberError, mask_id_number, mask_name, mask_phone, parse_id_number
from flows.domain.relationships import Relationship

CHALLENGE_TTL = 300
CODE_ATTEMPTS = 3
LOCK_AFTER_FAILURES, LOCK_WINDOW = 5, 900
IDEMPOTENCY_TTL = 7 * 24 * 3600
LISTED_APPLICATIONS = 20


class SandboxService:
    def __init__(self, client: redis.Redis, roster: Roster, region: RegionSettings, settings: SandboxSettings,
                 *, prefix: str = "wxbot", consent_base_url: str = "https://sandbox.local/consent",
                 clock: Callable[[], float] = time.time, log_codes: bool = False) -> None:
        self.store = SandboxStore(client, prefix)
        self.log_codes = log_codes   # development only: a code in a log is a code anyone can read
        self.roster, self.region, self.settings = roster, region, settings
        self.consent_base_url = consent_base_url
        self.clock = clock

    # -- identity verification ----------------------------------------------------------------
    def start_verification(self, body: VerificationStart) -> Challenge:
        person = self._match(body.name, body.id_number, body.id_type)
        if self.store.verifications.failures(person.person_id, body.openid) >= LOCK_AFTER_FAILURES:
            raise e.VerificationLocked()
        challenge_id = "C" + secrets.token_hex(8)
        code = self.settings.verification_code or f"{secrets.randbelow(10**6):06d}"
        self.store.verifications.save_challenge(
            challenge_id, {"person_id": person.person_id, "openid": body.openid, "code": code, "attempts": 0},
            ttl=CHALLENGE_TTL)
        # The sandbox's "SMS": the code goes to the simulator's panel (and, in development, the log),
        # never a phone.
        self.store.verifications.remember_code(challenge_id, code, self.clock())
        if self.log_codes:
            log.info("sandbox_sms_code", challenge_id=challenge_id, code=code)
        return Challenge(challenge_id=challenge_id, method="sms", masked_phone=mask_phone(person.phone),
                         expires_at=self._at(self.clock() + CHALLENGE_TTL))

    def complete_verification(self, challenge_id: str, body: VerificationAnswer) -> VerifiedPerson:
        challenge = self.store.verifications.challenge(challenge_id)
        if challenge is None or challenge["openid"] != body.openid:
            raise e.VerificationExpired()
        if self.store.verifications.failures(challenge["person_id"], body.openid) >= LOCK_AFTER_FAILURES:
            raise e.VerificationLocked()
        if not hmac.compare_digest(challenge["code"].encode(), body.code.strip().encode()):
            # Failures lock the one who made them (this openid, for this person), never the person:
            # a stranger's wrong codes must not lock the real person out. The 5th locks at once.
            failures = self.store.verifications.count_failure(challenge["person_id"], body.openid, LOCK_WINDOW)
            if failures >= LOCK_AFTER_FAILURES:
                self.store.verifications.drop_challenge(challenge_id)
                raise e.VerificationLocked()
            challenge["attempts"] += 1
            if challenge["attempts"] >= CODE_ATTEMPTS:
                self.store.verifications.drop_challenge(challenge_id)
                raise e.VerificationExpired("this code was tried too often; start again")
            self.store.verifications.save_challenge(challenge_id, challenge, ttl=CHALLENGE_TTL)
            raise e.VerificationCodeWrong()
        self.store.verifications.drop_challenge(challenge_id)
        person = self._person(challenge["person_id"])
        self.store.verifications.mark_verified(person.person_id)
        return VerifiedPerson(person_id=person.person_id, masked_name=mask_name(person.name),
                              masked_id_number=mask_id_number(person.id_number), insurance=person.insurance,
                              region=person.region)

    # -- eligibility ----------------------------------------------------------------------------
    def eligibility(self, person_id: str) -> Eligibility:
        person = self._verified(person_id)
        _, shareable = self._balances(person, self.store.usage.of(person.person_id))
        reason = None
        if person.insurance != Insurance.EMPLOYEE:
            reason = e.InitiatorNotEmployee.code
        elif person.status != "normal":
            reason = e.InitiatorAbnormal.code
        elif shareable <= 0:
            reason = e.NoShareableBalance.code
        return Eligibility(eligible=reason is None, reason=reason, shareable_balance=shareable)

    # -- applications ---------------------------------------------------------------------------
    def submit_application(self, body: ApplicationRequest) -> Application:
        with self.store.lock():
            remembered = self.store.applications.answer_to(body.idempotency_key)
            if remembered is not None:
                if "error" in remembered:
                    raise e.ERRORS[remembered["error"]]()
                return self.application(remembered["application_id"])
            try:
                record = self._new_application(body)
            except e.BindingError as error:
                self.store.applications.remember_answer(body.idempotency_key, {"error": error.code},
                                                        ttl=IDEMPOTENCY_TTL)
                raise
            self.store.applications.remember_answer(body.idempotency_key, {"application_id": record["id"]},
                                                    ttl=IDEMPOTENCY_TTL)
            return self._view(record)

    def _new_application(self, body: ApplicationRequest) -> dict[str, Any]:
        if not body.pledge_accepted:
            raise e.PledgeNotAccepted()
        initiator = self._verified(body.initiator_id)
        eligibility = self.eligibility(initiator.person_id)
        if not eligibility.eligible:
            raise e.ERRORS[eligibility.reason]()
        today = self._today()
        try:
            member_identity = parse_id_number(body.member_id_number, today, body.member_id_type)
        except IdNumberError:
            raise e.InvalidIdNumber() from None
        if person_id_for(member_identity.value) == initiator.person_id:
            raise e.CannotAddSelf()
        if body.relationship == Relationship.PARENT_IN_LAW:
            raise e.RelationshipForbidden()
        if body.relationship not in self.region.relationships:
            raise e.RelationshipNotInRegion()
        member = self._match(body.member_name, member_identity.value, body.member_id_type)
        if member.insurance == Insurance.NONE:
            raise e.MemberNotInsured()
        if member.region[:2] != self.region.area_code[:2]:
            raise e.MemberOtherProvince()
        if not self.region.same_area(member.region):
            raise e.MemberOutsideArea()
        self._check_not_bound(initiator.person_id, member.person_id)
        minor = member_identity.age_on(today) < self.region.consent_age
        if minor and self.region.minor_proof_required and not body.proof_media_ids:
            raise e.ProofMissing()

        record = {"id": "A" + secrets.token_hex(8), "initiator_id": initiator.person_id,
                  "member_id": member.person_id, "relationship": body.relationship.value,
                  "proof": list(body.proof_media_ids), "submitted_at": self.clock(), "decided_at": None,
                  "status": None, "reason": None, "binding_id": None, "consent": None}
        self.store.applications.open(record)
        if minor:
            self._to_review(record)
        else:
            code = secrets.token_hex(3).upper()
            expires = self.clock() + self.settings.consent_ttl
            record.update(status=ApplicationStatus.PENDING_CONSENT.value, consent={"code": code, "expires": expires})
            self.store.applications.give_consent_code(code, record["id"], ttl=self.settings.consent_ttl * 2)
            self.store.applications.save(record)
        return record

    def _check_not_bound(self, initiator_id: str, member_id: str) -> None:
        if self.store.applications.is_open(initiator_id, member_id):
            raise e.AlreadyBound()
        for binding in self._bindings(member_id, "member"):
            if binding["status"] != BindingStatus.ACTIVE.value:
                continue
            if binding["initiator_id"] == initiator_id:
                raise e.AlreadyBound()
            if self.region.one_relationship_only:
                raise e.MemberBoundElsewhere()

    def _to_review(self, record: dict[str, Any]) -> None:
        """After consent (or at once for a minor): decide per the review mode."""
        mode = self.settings.review
        if mode == "auto":
            self._decide(record, approve=True, reason=None)
            return
        record["status"] = ApplicationStatus.UNDER_REVIEW.value
        self.store.applications.save(record)
        self.store.reviews.wait(record["id"])
        if mode == "delayed":
            self.store.reviews.schedule(record["id"], self.clock() + self.settings.review_delay)

    def application(self, application_id: str) -> Application:
        record = self.store.applications.get(application_id)
        if record is None:
            raise e.ApplicationNotFound()
        return self._view(self._expire_consent(record))

    def applications(self, person_id: str) -> ApplicationList:
        self._verified(person_id)
        ids = self.store.applications.of(person_id, LISTED_APPLICATIONS)
        return ApplicationList(applications=[self.application(i) for i in ids])

    # -- member consent -------------------------------------------------------------------------
    def consent_request(self, code: str) -> ConsentRequest:
        record = self._expire_consent(self._by_consent(code))
        if record["status"] == ApplicationStatus.REJECTED.value and record["reason"] == e.ConsentExpired.code:
            raise e.ConsentExpired()
        initiator, member = self._person(record["initiator_id"]), self._person(record["member_id"])
        return ConsentRequest(code=code, initiator_masked_name=mask_name(initiator.name),
                              member_masked_name=mask_name(member.name), relationship=record["relationship"],
                              status=record["status"], expires_at=self._at(record["consent"]["expires"]))

    def answer_consent(self, code: str, body: ConsentAnswer) -> Application:
        with self.store.lock():
            record = self._expire_consent(self._by_consent(code))
            if record["status"] == ApplicationStatus.REJECTED.value and record["reason"] == e.ConsentExpired.code:
                raise e.ConsentExpired()
            self._verified(body.person_id)
            if body.person_id != record["member_id"]:
                raise e.ConsentWrongPerson()
            if record["status"] == ApplicationStatus.PENDING_CONSENT.value:
                if body.agree:
                    self._to_review(record)
                else:
                    self._decide(record, approve=False, reason=e.ConsentDeclined.code)
            return self._view(record)

    # -- bindings -------------------------------------------------------------------------------
    def members(self, person_id: str) -> MemberList:
        self._verified(person_id)
        bindings = sorted(self._bindings(person_id, "initiator"), key=lambda b: b["since"])
        return MemberList(members=[self._member_view(b) for b in bindings])

    def sharers(self, person_id: str) -> SharerList:
        self._verified(person_id)
        bindings = sorted(self._bindings(person_id, "member"), key=lambda b: b["since"])
        return SharerList(sharers=[self._sharer_view(b) for b in bindings])

    def unbind(self, person_id: str, binding_id: str) -> Member:
        with self.store.lock():
            binding = self._binding(binding_id)
            if person_id not in (binding["initiator_id"], binding["member_id"]):
                raise e.NotPermitted()
            if binding["status"] == BindingStatus.ACTIVE.value:
                by = "ended_by_initiator" if person_id == binding["initiator_id"] else "ended_by_member"
                self._end(binding, BindingStatus.ENDED, reason=by)
                self._emit(Decision(event_id=f"{binding_id}:ended", kind="binding.ended",
                                    application_id=binding["application_id"], binding_id=binding_id,
                                    status="ended", reason=by, decided_at=self._at(self.clock())))
            return self._member_view(binding)

    def binding(self, binding_id: str) -> Member:
        return self._member_view(self._binding(binding_id))

    def deduction_order(self, person_id: str, binding_id: str) -> DeductionOrder:
        binding = self._binding(binding_id)
        if binding["initiator_id"] != person_id:
            raise e.NotPermitted()
        return self._order_view(binding["member_id"], person_id)

    def set_deduction_order(self, person_id: str, binding_id: str, body: DeductionOrderUpdate) -> DeductionOrder:
        with self.store.lock():
            binding = self._binding(binding_id)
            if binding["initiator_id"] != person_id:
                raise e.NotPermitted()
            current = self.store.deduction_orders.of(binding["member_id"])
            if sorted(body.order) != sorted(current):
                raise e.InvalidRequest("the order must name each active binding of this member once")
            self.store.deduction_orders.replace(binding["member_id"], body.order)
            return self._order_view(binding["member_id"], person_id)

    def health(self) -> Health:
        return Health(status="ok")   # answering at all is the sandbox's health

    def usage(self, person_id: str) -> Usage:
        person = self._verified(person_id)
        raw = self.store.usage.of(person_id)
        balance, shareable = self._balances(person, raw)
        records = [self._record_view(r) for r in raw]
        return Usage(balance=balance, shareable_balance=shareable,
                     records=sorted(records, key=lambda r: r.at, reverse=True))

    # -- the bureau's desk: used by desk.py and the `wxbot sandbox` commands --------------------
    def under_review(self) -> list[Application]:
        return [self.application(i) for i in self.store.reviews.waiting()]

    def decide(self, application_id: str, approve: bool, reason: str | None = None) -> Application:
        with self.store.lock():
            record = self.store.applications.get(application_id)
            if record is None:
                raise e.ApplicationNotFound()
            if record["status"] == ApplicationStatus.UNDER_REVIEW.value:
                if not approve and reason not in e.ERRORS:
                    raise e.InvalidRequest(f"unknown reason {reason!r}")
                self._decide(record, approve=approve, reason=None if approve else reason)
            return self._view(record)

    def decide_due(self) -> int:
        """Delayed review: decide (approve) every application whose time has come."""
        decided = 0
        for application_id in self.store.reviews.due(self.clock()):
            if self.store.reviews.claim(application_id):   # several desks may run: one decides it
                self.decide(application_id, approve=True)
                decided += 1
        return decided

    def terminate(self, binding_id: str, reason: str = "insurance_changed") -> Member:
        """Automatic termination: either party's insurance ended or moved."""
        with self.store.lock():
            binding = self._binding(binding_id)
            if binding["status"] == BindingStatus.ACTIVE.value:
                self._end(binding, BindingStatus.TERMINATED, reason=reason)
                self._emit(Decision(event_id=f"{binding_id}:terminated", kind="binding.terminated",
                                    application_id=binding["application_id"], binding_id=binding_id,
                                    status="terminated", reason=e.RelationshipTerminated.code,
                                    decided_at=self._at(self.clock())))
            return self._member_view(binding)

    def record_usage(self, binding_id: str, place: str, amount: Decimal) -> UsageRecord:
        binding = self._binding(binding_id)
        if binding["status"] != BindingStatus.ACTIVE.value:
            raise e.BindingNotFound("the binding is not active")
        record = {"at": self.clock(), "binding_id": binding_id, "place": place, "amount": str(amount)}
        self.store.usage.record(binding["initiator_id"], record)
        return self._record_view(record)

    def recent_sms(self) -> list[tuple[str, str]]:
        return self.store.verifications.recent_codes()

    def outbox(self) -> Outbox:
        """Decisions waiting for the bot's callback: written here, delivered by the desk (desk.py)."""
        return Outbox(self.store, self.clock)

    # -- internals ------------------------------------------------------------------------------
    def _decide(self, record: dict[str, Any], approve: bool, reason: str | None) -> None:
        record["decided_at"] = self.clock()
        self.store.reviews.done(record["id"])
        self.store.applications.close(record)
        if approve:
            record["status"] = ApplicationStatus.APPROVED.value
            record["binding_id"] = self._create_binding(record)
        else:
            record["status"], record["reason"] = ApplicationStatus.REJECTED.value, reason
        self.store.applications.save(record)
        self._emit(Decision(event_id=f"{record['id']}:decided", kind="application.decided",
                            application_id=record["id"], binding_id=record["binding_id"],
                            status=record["status"], reason=record["reason"],
                            decided_at=self._at(record["decided_at"])))

    def _create_binding(self, record: dict[str, Any]) -> str:
        binding_id = "B" + secrets.token_hex(8)
        binding = {"id": binding_id, "application_id": record["id"], "initiator_id": record["initiator_id"],
                   "member_id": record["member_id"], "relationship": record["relationship"],
                   "status": BindingStatus.ACTIVE.value, "since": self.clock(), "ended_at": None, "end_reason": None}
        self.store.bindings.add(binding)
        self.store.deduction_orders.append(record["member_id"], binding_id)   # the newest pays last
        return binding_id

    def _end(self, binding: dict[str, Any], status: BindingStatus, reason: str) -> None:
        binding.update(status=status.value, ended_at=self.clock(), end_reason=reason)
        self.store.bindings.save(binding)
        self.store.deduction_orders.remove(binding["member_id"], binding["id"])

    def _emit(self, decision: Decision) -> None:
        # Always after the state it reports is saved: the bot confirms each callback with the
        # status calls (bot.binding.confirm), so the sandbox's own callbacks are always confirmed.
        self.outbox().add(decision)

    def _expire_consent(self, record: dict[str, Any]) -> dict[str, Any]:
        consent = record.get("consent")
        if (record["status"] == ApplicationStatus.PENDING_CONSENT.value and consent
                and self.clock() > consent["expires"]):
            self._decide(record, approve=False, reason=e.ConsentExpired.code)
        return record

    def _by_consent(self, code: str) -> dict[str, Any]:
        record = self.store.applications.by_consent_code(code.strip().upper())
        if record is None:
            raise e.ConsentNotFound()
        return record

    def _match(self, name: str, id_number: str, id_type: Any) -> Person:
        try:
            parse_id_number(id_number, self._today(), id_type)
        except IdNumberError:
            raise e.InvalidIdNumber() from None
        person = self.roster.by_id_number(id_number)
        # The same error whether the number is unknown or the name differs: no probing the roster.
        if person is None or person.name != name.strip():
            raise e.NameIdMismatch()
        return person

    def _person(self, person_id: str) -> Person:
        person = self.roster.by_person_id(person_id)
        if person is None:
            raise e.PersonNotFound()
        return person

    def _verified(self, person_id: str) -> Person:
        person = self._person(person_id)
        if not self.store.verifications.is_verified(person_id):
            raise e.NotVerified()
        return person

    def _binding(self, binding_id: str) -> dict[str, Any]:
        binding = self.store.bindings.get(binding_id)
        if binding is None:
            raise e.BindingNotFound()
        return binding

    def _bindings(self, person_id: str, role: Role) -> list[dict[str, Any]]:
        return [self._binding(i) for i in self.store.bindings.of(person_id, role)]

    def _order_view(self, member_id: str, person_id: str) -> DeductionOrder:
        payers = []
        for binding_id in self.store.deduction_orders.of(member_id):
            binding = self._binding(binding_id)
            initiator = self._person(binding["initiator_id"])
            payers.append(Payer(binding_id=binding_id, initiator_masked_name=mask_name(initiator.name),
                                is_me=binding["initiator_id"] == person_id))
        return DeductionOrder(member_masked_name=mask_name(self._person(member_id).name), payers=payers)

    def _balances(self, person: Person, records: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
        """(balance, shareable balance) after what the members spent (`records`)."""
        spent = sum((Decimal(r["amount"]) for r in records), Decimal("0"))
        shareable = person.balance
        if self.region.shareable_balance == "carried_over" and person.carried_over is not None:
            shareable = person.carried_over
        return max(Decimal("0"), person.balance - spent), max(Decimal("0"), shareable - spent)

    def _view(self, record: dict[str, Any]) -> Application:
        member = self._person(record["member_id"])
        consent = None
        if record["status"] == ApplicationStatus.PENDING_CONSENT.value and record["consent"]:
            code = record["consent"]["code"]
            consent = Consent(code=code, url=f"{self.consent_base_url}/{code}",
                              expires_at=self._at(record["consent"]["expires"]))
        return Application(application_id=record["id"], status=record["status"], reason=record["reason"],
                           relationship=record["relationship"], member_masked_name=mask_name(member.name),
                           member_masked_id_number=mask_id_number(member.id_number), consent=consent,
                           binding_id=record["binding_id"], submitted_at=self._at(record["submitted_at"]),
                           decided_at=self._at(record["decided_at"]) if record["decided_at"] else None)

    def _member_view(self, binding: dict[str, Any]) -> Member:
        member = self._person(binding["member_id"])
        return Member(binding_id=binding["id"], application_id=binding["application_id"],
                      relationship=binding["relationship"],
                      masked_name=mask_name(member.name), masked_id_number=mask_id_number(member.id_number),
                      status=binding["status"], since=self._at(binding["since"]),
                      ended_at=self._at(binding["ended_at"]) if binding["ended_at"] else None,
                      end_reason=binding["end_reason"])

    def _sharer_view(self, binding: dict[str, Any]) -> Sharer:
        initiator = self._person(binding["initiator_id"])
        return Sharer(binding_id=binding["id"], application_id=binding["application_id"],
                      relationship=binding["relationship"], initiator_masked_name=mask_name(initiator.name),
                      initiator_masked_id_number=mask_id_number(initiator.id_number), status=binding["status"],
                      since=self._at(binding["since"]),
                      ended_at=self._at(binding["ended_at"]) if binding["ended_at"] else None,
                      end_reason=binding["end_reason"])

    def _record_view(self, record: dict[str, Any]) -> UsageRecord:
        binding = self._binding(record["binding_id"])
        return UsageRecord(at=self._at(record["at"]), binding_id=record["binding_id"],
                           member_masked_name=mask_name(self._person(binding["member_id"]).name),
                           place=record["place"], amount=Decimal(record["amount"]))

    def _today(self) -> date:
        return self._at(self.clock()).astimezone(self.region.zone).date()   # the region's day, for ages

    @staticmethod
    def _at(timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, tz=UTC)
