"""What crosses the binding-service interface. Personal data travels only inbound (a name and ID
number to verify or to apply for); everything that comes back is masked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.domain.identity import IdType
from flows.domain.relationships import Relationship


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Insurance(StrEnum):
    EMPLOYEE = "employee"   # 职工医保: has a personal account, may initiate
    RESIDENT = "resident"   # 城乡居民医保: may be a member only
    NONE = "none"


class ApplicationStatus(StrEnum):
    PENDING_CONSENT = "pending_consent"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class BindingStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"            # unbound by either party
    TERMINATED = "terminated"  # ended automatically: insurance ended or moved


# -- identity verification --------------------------------------------------------------------
class VerificationStart(_Model):
    openid: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=64)
    id_type: IdType = IdType.RESIDENT
    id_number: str = Field(min_length=1, max_length=32)


class Challenge(_Model):
    challenge_id: str
    method: Literal["sms", "face"]
    masked_phone: str | None = None
    url: str | None = None
    expires_at: datetime


class VerificationAnswer(_Model):
    openid: str = Field(min_length=1, max_length=128)
    code: str = Field(min_length=1, max_length=16)


class VerifiedPerson(_Model):
    person_id: str
    masked_name: str
    masked_id_number: str
    insurance: Insurance
    region: str


class Eligibility(_Model):
    eligible: bool
    reason: str | None = None  # an error code when not eligible
    shareable_balance: Decimal


# -- applications ------------------------------------------------------------------------------
class ApplicationRequest(_Model):
    initiator_id: str
    member_name: str = Field(min_length=1, max_length=64)
    member_id_type: IdType = IdType.RESIDENT
    member_id_number: str = Field(min_length=1, max_length=32)
    relationship: Relationship
    pledge_accepted: bool
    proof_media_ids: list[str] = []
    idempotency_key: str = Field(min_length=8, max_length=128)


class Consent(_Model):
    code: str
    url: str
    expires_at: datetime


class Application(_Model):
    application_id: str
    status: ApplicationStatus
    reason: str | None = None          # the error code of a rejection
    relationship: Relationship
    member_masked_name: str
    member_masked_id_number: str
    consent: Consent | None = None     # while waiting for the member
    binding_id: str | None = None      # once approved
    submitted_at: datetime
    decided_at: datetime | None = None


class ApplicationList(_Model):
    applications: list[Application]    # newest first


class ConsentRequest(_Model):
    code: str
    initiator_masked_name: str
    member_masked_name: str
    relationship: Relationship
    status: ApplicationStatus
    expires_at: datetime


class ConsentAnswer(_Model):
    person_id: str
    agree: bool


# -- bindings ----------------------------------------------------------------------------------
class Member(_Model):
    binding_id: str
    application_id: str | None = None  # the application that created it, when the bureau knows it
    relationship: Relationship
    masked_name: str
    masked_id_number: str
    status: BindingStatus
    since: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


class MemberList(_Model):
    members: list[Member]


class Sharer(_Model):
    """A binding seen from its member: who shares their account with this person. `relationship`
    is what the member is to the initiator, as the application declared it; the initiator is the
    inverse to the member (a member bound as a child has a parent sharing with them)."""
    binding_id: str
    application_id: str | None = None
    relationship: Relationship
    initiator_masked_name: str
    initiator_masked_id_number: str
    status: BindingStatus
    since: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


class SharerList(_Model):
    sharers: list[Sharer]


class Payer(_Model):
    binding_id: str
    initiator_masked_name: str
    is_me: bool


class DeductionOrder(_Model):
    """For a member shared by several initiators: whose account is charged first."""
    member_masked_name: str
    payers: list[Payer]


class DeductionOrderUpdate(_Model):
    order: list[str] = Field(min_length=1)  # binding ids, first charged first


class UsageRecord(_Model):
    at: datetime
    binding_id: str
    member_masked_name: str
    place: str
    amount: Decimal


class Usage(_Model):
    balance: Decimal
    shareable_balance: Decimal
    records: list[UsageRecord]


class Health(_Model):
    status: Literal["ok"]


# -- decisions (callbacks) ---------------------------------------------------------------------
class Decision(_Model):
    """What the bureau tells the bot later: an application decided, a binding ended by either
    party (at any channel) or terminated automatically."""
    event_id: str = Field(min_length=1, max_length=128)
    kind: Literal["application.decided", "binding.ended", "binding.terminated"]
    application_id: str = Field(min_length=1, max_length=128)
    binding_id: str | None = None
    status: Literal["approved", "rejected", "ended", "terminated"]
    reason: str | None = None
    decided_at: datetime
