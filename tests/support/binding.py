"""The binding service under test, either as the sandbox itself or through the HTTP adapter
talking to `wxbot sandbox serve`'s app on a real loopback port — same tests, both adapters."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.binding.sandbox.roster import Roster

ROSTER = {person.name: person for person in Roster.load(None)}


class Clock:
    """A clock the tests move by hand; starts now."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Somebody:
    name: str
    id_number: str
    person_id: str


def person(name: str) -> Somebody:
    entry = ROSTER[name]
    return Somebody(entry.name, entry.id_number, entry.person_id)
