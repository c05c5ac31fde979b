"""The user's records, read in the same Redis round trip that admits their message.

While a message is handled, the conversation store, the verified identities and the waiting
notices read these instead of asking Redis again, and keep them current when they write, so
that a second read in the same message sees the first one's write. Outside a message (the
CLI, the worker, tests) nothing is prefetched and every read goes to Redis.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class UserRecords:
    openid: str
    conversation_rev: int
    conversation_state: bytes | None
    identity: bytes | None
    waiting_notices: int


_current: ContextVar[UserRecords | None] = ContextVar("user_records", default=None)


def prefetched(openid: str) -> UserRecords | None:
    records = _current.get()
    return records if records is not None and records.openid == openid else None


@contextlib.contextmanager
def using(records: UserRecords | None) -> Iterator[None]:
    token = _current.set(records)
    try:
        yield
    finally:
        _current.reset(token)
