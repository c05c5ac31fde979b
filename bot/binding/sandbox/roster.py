"""The sandbox's insured people, read from a TOML roster of [[person]] tables."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.binding.models import Insurance
from flows.domain.identity import IdNumber, IdNumberError, normalise_id_number, parse_id_number

DEMO_ROSTER = "demo_roster.toml"


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    id_number: str
    insurance: Insurance
    status: Literal["normal", "suspended"] = "normal"
    balance: Decimal = Decimal("0")
    carried_over: Decimal | None = None  # None: all of the balance counts as carried over
    region: str = Field(pattern=r"^\d{6}$")
    phone: str = Field(pattern=r"^1\d{10}$")

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        try:
            return parse_id_number(value, date.today()).value
        except IdNumberError as exc:
            raise ValueError(f"invalid ID number ({exc.reason})") from None

    @property
    def person_id(self) -> str:
        return person_id_for(self.id_number)

    def identity(self, today: date) -> IdNumber:
        return parse_id_number(self.id_number, today)


def person_id_for(id_number: str) -> str:
    """Opaque and stable: the same person keeps the same id across restarts."""
    return "P" + hashlib.sha256(normalise_id_number(id_number).encode()).hexdigest()[:15]


class Roster:
    def __init__(self, people: list[Person]) -> None:
        self._by_id_number = {person.id_number: person for person in people}
        self._by_person_id = {person.person_id: person for person in people}

    @classmethod
    def load(cls, path: str | Path | None) -> Roster:
        if not path:
            text = resources.files("bot.binding.sandbox").joinpath(DEMO_ROSTER).read_text("utf-8")
            source = DEMO_ROSTER
        else:
            text, source = Path(path).read_text("utf-8"), str(path)
        try:
            people = [Person(**entry) for entry in tomllib.loads(text).get("person", [])]
        except (tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
            raise ValueError(f"roster {source}: {exc}") from None
        return cls(people)

    def by_id_number(self, id_number: str) -> Person | None:
        return self._by_id_number.get(normalise_id_number(id_number))

    def by_person_id(self, person_id: str) -> Person | None:
        return self._by_person_id.get(person_id)

    def __iter__(self) -> Iterator[Person]:
        return iter(self._by_person_id.values())
