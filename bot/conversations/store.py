"""One Redis record per openid holds the conversation: written atomically with a revision check,
expiring after the flow's lifetime, with the collected data (names, ID numbers) encrypted.

Within a message (a session, bot/store/session.py) the draft is read from the session and left
there: the reply's record writes it, with the same revision check (bot/store/ledger.py FINISH).
Outside one (the CLI, tests) it is read and written here, one script call per write. Encrypted
parts that did not change in the message are written back as they were read, not encrypted again."""

from __future__ import annotations

import json
from dataclasses import fields

import redis
from cryptography.fernet import Fernet, InvalidToken

from bot.logs import log, user_ref
from bot.store.keys import Keys
from bot.store.session import DraftWrite, Session, calling_out, of, parse_record
from flows.engine import IDLE, Conversation

# The record is one string, "<rev>:<state json>". (As a hash it would be stored as a hashtable,
# the state being longer than hash-max-listpack-value: ~300 bytes more for every idle user.)
# KEYS: record. ARGV: expected rev, new state ('' clears it), ttl (s). The new rev, or -1 on conflict.
_SAVE = """
local current = redis.call('GET', KEYS[1])
local rev = current and tonumber(string.match(current, '^(%d+):')) or 0
if rev ~= tonumber(ARGV[1]) then return -1 end
rev = rev + 1
redis.call('SET', KEYS[1], rev .. ':' .. ARGV[2], 'EX', ARGV[3])
return rev
"""


class StaleConversation(Exception):
    """Someone else saved this conversation since we loaded it."""


class ConversationStore:
    def __init__(self, client: redis.Redis, keys: Keys, secret_key: str, ttl: int) -> None:
        self.redis, self.keys, self.ttl = client, keys, ttl
        self.cipher = Fernet(secret_key.encode())
        self._save = client.register_script(_SAVE)

    def load(self, openid: str, session: Session | None = None) -> tuple[Conversation, int]:
        records = of(session, openid)
        if records:
            rev, state = records.conversation_rev, records.conversation_state
        else:
            calling_out(session)
            rev, state = parse_record(self.redis.get(self.keys.conversation(openid)))
        if state is None:
            return IDLE, rev
        try:
            return self._decode(state, records.sealed if records else None), rev
        except (InvalidToken, ValueError, TypeError, KeyError):
            # A record we cannot read (a rotated key, a corrupted value): start afresh, never crash.
            log.warning("conversation_unreadable", user_ref=user_ref(openid))
            return IDLE, rev

    def save(self, openid: str, conversation: Conversation, rev: int, session: Session | None = None) -> int:
        if not conversation.active:
            return self.clear(openid, rev, session)
        records = of(session, openid)
        return self._write(openid, rev, self._encode(conversation, records.sealed if records else None), session)

    def clear(self, openid: str, rev: int = 0, session: Session | None = None) -> int:
        """Delete the draft and its data; keep the revision so stale writers still conflict."""
        return self._write(openid, rev, "", session)

    def delete(self, openid: str, session: Session | None = None) -> None:
        """Delete the record, revision included (the user is gone)."""
        calling_out(session)
        self.redis.delete(self.keys.conversation(openid))
        records = of(session, openid)
        if records:   # a draft this message meant to write goes too
            records.conversation_rev, records.conversation_state, records.draft = 0, None, None

    def _write(self, openid: str, rev: int, state: str, session: Session | None) -> int:
        records = of(session, openid)
        if records is None:
            calling_out(session)
            new_rev = self._save(keys=[self.keys.conversation(openid)], args=[rev, state, self.ttl])
            if new_rev == -1:
                raise StaleConversation()
            return new_rev
        # Left in the session for the reply's record, which checks the revision the admission read.
        if rev != records.conversation_rev:
            raise StaleConversation()   # loaded before an earlier write of this same message
        expected = records.draft.expected_rev if records.draft else rev
        records.draft = DraftWrite(expected, rev + 1, state, self.ttl)
        # Kept current: a second load in this message sees this write.
        records.conversation_rev, records.conversation_state = rev + 1, state.encode() or None
        return rev + 1

    def _encode(self, conversation: Conversation, sealed: dict[bytes, str] | None = None) -> str:
        return _json(self._record(conversation, sealed))

    def _seal(self, plain: str, sealed: dict[bytes, str] | None) -> str:
        """The token of `plain`: the one it was read with in this message, if any (unchanged)."""
        data = plain.encode()
        token = sealed.get(data) if sealed else None
        return token or self.cipher.encrypt(data).decode()

    def _record(self, conversation: Conversation, sealed: dict[bytes, str] | None = None) -> dict:
        # Only what differs from an idle conversation, timestamps to the millisecond: every idle
        # user's draft stays in Redis for days, so its bytes count.
        record = {name: value for name, default in _DEFAULTS
                  if (value := getattr(conversation, name)) != default}
        record["data"] = self._seal(_json(dict(conversation.data)), sealed)
        # What the user said for later steps, an unclear answer being asked about and a service
        # waiting to start with what was said for it are personal data too: encrypted likewise.
        private = {name: getattr(conversation, name) for name in _PRIVATE if getattr(conversation, name)}
        for name in _PRIVATE:
            record.pop(name, None)
        if private:
            record["private"] = self._seal(_json(private), sealed)
        for stamp in ("started_at", "updated_at"):
            if stamp in record:
                record[stamp] = round(record[stamp], 3)
        for sequence in ("history", "given"):
            if getattr(conversation, sequence):
                record[sequence] = list(getattr(conversation, sequence))
        if conversation.paused:   # each encrypted the same way
            record["paused"] = [self._record(draft, sealed) for draft in conversation.paused]
        return record

    def _decode(self, raw: bytes, sealed: dict[bytes, str] | None = None) -> Conversation:
        return self._conversation(json.loads(raw), sealed) if raw else IDLE

    def _open(self, token: str, sealed: dict[bytes, str] | None) -> object:
        plain = self.cipher.decrypt(token.encode())
        if sealed is not None:
            sealed[plain] = token
        return json.loads(plain)

    def _conversation(self, record: dict, sealed: dict[bytes, str] | None = None) -> Conversation:
        record["data"] = self._open(record["data"], sealed)
        if "private" in record:
            record.update(self._open(record.pop("private"), sealed))
        record["history"] = tuple(record.get("history", ()))
        record["given"] = tuple(record.get("given", ()))
        record["paused"] = tuple(self._conversation(draft, sealed) for draft in record.get("paused", ()))
        return Conversation(**record)


_PRIVATE = ("prefill", "clarify", "switch_to")   # switch_to carries the other service's start data
_DEFAULTS = tuple((f.name, getattr(IDLE, f.name)) for f in fields(IDLE))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
