"""In-memory stand-ins for what the handlers need from the outside world (handlers/ports.py): the
router and the conversation handler tested without Redis, HTTP or a bureau, in milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.binding.models import Application, Challenge, Eligibility, Insurance, VerifiedPerson
from flows.domain.identity import mask_id_number, mask_name, parse_id_number
from flows.engine import Conversation, Effect, EffectDone
from handlers.ports import Session


class StaleDraft(Exception):
    """Another writer saved the draft first (the revision moved on)."""


@dataclass
class MemoryDrafts:
    """The DraftStore protocol: one revision-checked draft per openid."""
    drafts: dict[str, tuple[Conversation, int]] = field(default_factory=dict)

    def load(self, openid: str, session: Session | None = None) -> tuple[Conversation, int]:
        return self.drafts.get(openid, (Conversation(), 0))

    def save(self, openid: str, conversation: Conversation, rev: int, session: Session | None = None) -> int:
        if self.drafts.get(openid, (None, 0))[1] != rev:
            raise StaleDraft(openid)
        self.drafts[openid] = (conversation, rev + 1)
        return rev + 1

    def delete(self, openid: str, session: Session | None = None) -> None:
        self.drafts.pop(openid, None)


@dataclass
class Linked:
    record: dict[str, Any]
    elsewhere: str | None


@dataclass
class MemoryIdentities:
    """The IdentityStore protocol: which person each openid has proven to be (verified at `clock()`)."""
    clock: Callable[[], float]
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    told: list[tuple[str, str]] = field(default_factory=list)

    def get(self, openid: str, session: Session | None = None) -> dict[str, Any] | None:
        return self.links.get(openid)

    def link(self, openid: str, person: dict[str, Any], id_number: str, today: date,
             session: Session | None = None) -> Linked:
        digest = self.digest(id_number)
        elsewhere = next((other for other, record in self.links.items()
                          if record["id_digest"] == digest and other != openid), None)
        self.links[openid] = {**person, "id_digest": digest, "verified_at": self.clock(),
                              "birth_date": parse_id_number(id_number, today).birth_date.isoformat()}
        return Linked(self.links[openid], elsewhere)

    def unlink(self, openid: str, session: Session | None = None) -> None:
        self.links.pop(openid, None)

    def tell(self, openid: str, text: str) -> None:
        self.told.append((openid, text))

    def digest(self, id_number: str) -> str:
        return hashlib.sha256(id_number.encode()).hexdigest()


@dataclass
class MemoryNotices:
    """The Notices protocol: what waits for each user's next message."""
    waiting: dict[str, list[str]] = field(default_factory=dict)
    reports: list[tuple[str, str]] = field(default_factory=list)

    def take_pending(self, openid: str, session: Session | None = None) -> list[str]:
        return self.waiting.pop(openid, [])

    def delivery_report(self, msgid: str, status: str) -> str | None:
        self.reports.append((msgid, status))
        return None


@dataclass
class ScriptedBureau:
    """A RunEffect: the bureau's answers for a verified employee who may share 8,650 yuan, and
    every binding approved at once; `errors` makes an effect fail with that code instead."""
    people: dict[str, tuple[str, str]]        # id number -> (person id, name)
    errors: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __call__(self, effect: Effect, openid: str, person_id: str | None) -> EffectDone:
        self.calls.append(effect.name)
        if effect.name in self.errors:
            return EffectDone(effect.name, ok=False, error=self.errors[effect.name])
        value = getattr(self, effect.name)(effect.args)
        return EffectDone(effect.name, ok=True, value=value.model_dump(mode="json"))

    def start_verification(self, args: dict[str, Any]) -> Challenge:
        self._pending = args["id_number"]
        return Challenge(challenge_id="C1", method="sms", masked_phone="138****0000",
                         expires_at=datetime.now(UTC) + timedelta(minutes=5))

    def complete_verification(self, args: dict[str, Any]) -> VerifiedPerson:
        person_id, name = self.people[self._pending]
        return VerifiedPerson(person_id=person_id, masked_name=mask_name(name),
                              masked_id_number=mask_id_number(self._pending), insurance=Insurance.EMPLOYEE,
                              region="330100")

    def eligibility(self, args: dict[str, Any]) -> Eligibility:
        return Eligibility(eligible=True, shareable_balance=Decimal("8650.00"))

    def submit_application(self, args: dict[str, Any]) -> Application:
        return Application(application_id="A1", status="approved", relationship=args["relationship"],
                           member_masked_name=mask_name(args["member_name"]),
                           member_masked_id_number=mask_id_number(args["member_id_number"]),
                           binding_id="B1", submitted_at=datetime.now(UTC), decided_at=datetime.now(UTC))
