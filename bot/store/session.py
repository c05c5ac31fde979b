"""One message's session: the user's records, read in the same Redis round trip that admits the
message and takes the user's lock (bot/webhook/ledger.py).

The webhook hands it to the router with the message (handlers: `session`), and the router to the
stores: the conversation store, the verified identities and the waiting notices read it instead of
asking Redis again, and keep it current when they write, so that a second read in the same message
sees the first one's write. Outside a message (the CLI, the worker, tests) there is none, and
every read goes to Redis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Session:
    openid: str
    conversation_rev: int
    conversation_state: bytes | None
    identity: bytes | None
    waiting_notices: int


def of(session: Session | None, openid: str) -> Session | None:
    """The session, when it is this user's (a store may be asked about another user)."""
    return session if session is not None and session.openid == openid else None
