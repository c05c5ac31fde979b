"""What the flows may know about the world, passed in with each message and never read from it:
the time, the region's rules, the user."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from flows.domain.relationships import CLOSE_RELATIVES, Relationship


@runtime_checkable
class RegionRules(Protocol):
    """The region's rules the flows apply. The bot's settings (bot/config.py RegionSettings) have
    them, among others; tests and tools may pass a `Region`."""
    @property
    def relationships(self) -> Sequence[Relationship]: ...       # who may be bound, in the order offered
    @property
    def consent_age(self) -> int: ...                             # from this age a member consents
    @property
    def minor_proof_required(self) -> bool: ...                   # a photo of proof for a younger member
    @property
    def verification_code_length(self) -> int: ...                # the bureau's SMS codes
    @property
    def zone(self) -> tzinfo: ...                                 # every time users read, every date and age


@dataclass(frozen=True)
class Region:
    """Region rules as plain data; the defaults are the bot's own (RegionSettings)."""
    relationships: tuple[Relationship, ...] = CLOSE_RELATIVES
    consent_age: int = 16
    minor_proof_required: bool = True
    verification_code_length: int = 6
    zone: tzinfo = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class User:
    """Who is writing, as the bot knows them (their verified identity, if any)."""
    verified: bool = False
    fresh: bool = False                 # verified recently enough to bind or unbind (conversation.fresh_minutes)
    person_id: str | None = None
    birth_date: date | None = None
    id_digest: str = ""                 # the bot's keyed hash of their ID number: the number is never kept


def _no_hash(id_number: str) -> str:
    return ""


@dataclass(frozen=True)
class Context:
    now: float
    today: date
    region: RegionRules = Region()
    user: User = User()
    fresh_id: str = ""                  # a new random id, for flows that start with one (idempotency)
    # The page where users subscribe to the result's subscription notice (订阅通知); empty when the
    # result does not go out as one.
    subscribe_link: str = ""
    # The bot's keyed hash of an ID number (the one the identity link keeps): the key stays with
    # the bot, so the function is lent with each message. The one function a Context holds.
    hash_id_number: Callable[[str], str] = _no_hash

    def is_users_own(self, id_number: str) -> bool:
        """The user's own ID number (nobody binds themselves), known only by its hash."""
        return bool(self.user.id_digest) and self.hash_id_number(id_number) == self.user.id_digest

    def local(self, moment: datetime | str) -> datetime:
        """A moment (a datetime, or ISO 8601 as the bureau sends it) in the region's time zone."""
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        # Without an offset it is UTC, as the contract's times are; never the machine's own zone.
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(self.region.zone)
