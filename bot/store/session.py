"""One message's session: the user's records, read in the same Redis round trip that admits the
message and takes the user's lock (bot/store/ledger.py), and what the message writes back.

The webhook hands it to the router with the message (handlers: `session`), and the router to the
stores: the conversation store, the verified identities and the waiting notices read it instead of
asking Redis again, and keep it current when they write, so that a second read in the same message
sees the first one's write. Outside a message (the CLI, the worker, tests) there is none, and
every read and write goes to Redis.

**The draft is written with the reply.** The conversation store does not send a message's draft
to Redis: it leaves it in the session (`draft`), and the reply's record (the ledger's FINISH)
writes it, revision-checked, in the same script that records the reply and releases the user's
lock. A draft that another writer changed since the admission read it (a holder whose lock had
expired) is not written, and the user is told 系统繁忙 instead of the reply (StaleConversation, as
before). What must only happen once the draft is kept (the milestones' metrics) waits for it
(`once_saved`).

**A message may be answered on the request thread** (bot/webhook/processing.py): then the session
is `inline`, and anything that would leave the process before the reply's record — the binding
service, a Redis call the session cannot answer — raises `HandOver` first (`calling_out(session)`,
asked with the session the call was handed): the attempt is dropped, nothing of it having left the
process, and the message is handled again on a handler thread, from the records as admitted. The
session travels only as an argument: who holds it can be read off every signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DraftWrite:
    """The draft this message leaves, for the reply's record to write (bot/store/ledger.py)."""
    expected_rev: int   # the revision the admission read: another writer since then refuses it
    rev: int            # the revision it is written with
    state: str          # the encoded draft; '' clears it (the revision stays)
    ttl: int            # seconds


@dataclass
class Session:
    openid: str
    conversation_rev: int
    conversation_state: bytes | None
    identity: bytes | None
    waiting_notices: int
    draft: DraftWrite | None = None       # written by the reply's record
    inline: bool = False                  # answered on the request thread: `calling_out` hands it over
    # Encrypted parts of the draft as read in this message (plaintext -> token): a part that did
    # not change is written back as it was, not encrypted again.
    sealed: dict[bytes, str] = field(default_factory=dict)
    # The waiting notices this message took (removed from Redis): shown with its reply, whatever reply.
    taken_notices: list[str] = field(default_factory=list)
    _once_saved: list[Callable[[], None]] = field(default_factory=list)

    def attempt(self) -> Session:
        """A copy for an attempt on the request thread; this one stays as admitted, for the
        handler thread if the attempt is handed over."""
        return Session(self.openid, self.conversation_rev, self.conversation_state, self.identity,
                       self.waiting_notices, inline=True)

    def saved(self) -> None:
        """The reply's record kept this message's draft: what waited for it runs now."""
        actions, self._once_saved = self._once_saved, []
        for action in actions:
            action()


class HandOver(BaseException):  # noqa: N818 - not an error: a signal, and no `except Exception` may swallow it
    """Raised on the request thread before anything leaves the process: the message goes to a
    handler thread instead."""


def of(session: Session | None, openid: str) -> Session | None:
    """The session, when it is this user's (a store may be asked about another user)."""
    return session if session is not None and session.openid == openid else None


def calling_out(session: Session | None) -> None:
    """Called, with the message's session, before anything that leaves the process (the binding
    service, Redis beyond the session): an attempt on the request thread stops here and is handed
    to a handler thread."""
    if session is not None and session.inline:
        raise HandOver()


def calls_out(action: Callable[..., Any]) -> Callable[..., Any]:
    """`action`, preceded by `calling_out(session)`: the handler hands it the message's session."""
    def call(*args: Any, session: Session | None = None) -> Any:
        calling_out(session)
        return action(*args)
    return call


def once_saved(action: Callable[..., None]) -> Callable[..., None]:
    """`action`, deferred until the message's reply's record has kept its draft (never run when the
    draft was stale, nor for an attempt handed over); at once outside a message (no session)."""
    def call(*args: Any, session: Session | None = None) -> None:
        if session is None:
            action(*args)
        else:
            session._once_saved.append(lambda: action(*args))
    return call


def parse_record(raw: bytes | None) -> tuple[int, bytes | None]:
    """The revision and the state (None when cleared) of a stored draft record ("<rev>:<state>")."""
    if not raw:
        return 0, None
    rev, _, state = raw.partition(b":")
    return int(rev), state or None
