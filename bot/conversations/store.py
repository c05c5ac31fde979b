"""One Redis record per openid holds the conversation: written atomically with a revision check,
expiring after the flow's lifetime, with the collected data (names, ID numbers) encrypted."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import redis
from cryptography.fernet import Fernet, InvalidToken

from bot.logs import log, user_ref
from bot.store.keys import Keys
from bot.store.prefetch import prefetched
from flows.engine import IDLE, Conversation

# KEYS: record. ARGV: expected rev, new record json, ttl (s). Returns the new rev, or -1 on conflict.
_SAVE = """
local current = redis.call('HGET', KEYS[1], 'rev')
if (current or '0') ~= ARGV[1] then return -1 end
local rev = tonumber(ARGV[1]) + 1
redis.call('HSET', KEYS[1], 'rev', rev)
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'state') else redis.call('HSET', KEYS[1], 'state', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return rev
"""


class StaleConversation(Exception):
    """Someone else saved this conversation since we loaded it."""


class ConversationStore:
    def __init__(self, client: redis.Redis, keys: Keys, secret_key: str, ttl: int) -> None:
        self.redis, self.keys, self.ttl = client, keys, ttl
        self.cipher = Fernet(secret_key.encode())
        self._save = client.register_script(_SAVE)

    def load(self, openid: str) -> tuple[Conversation, int]:
        records = prefetched(openid)
        if records:
            rev, state = records.conversation_rev, records.conversation_state
        else:
            rev, state = self.redis.hmget(self.keys.conversation(openid), "rev", "state")
        if state is None:
            return IDLE, int(rev or 0)
        try:
            return self._decode(state), int(rev)
        except (InvalidToken, ValueError, TypeError, KeyError):
            # A record we cannot read (a rotated key, a corrupted value): start afresh, never crash.
            log.warning("conversation_unreadable", user_ref=user_ref(openid))
            return IDLE, int(rev)

    def save(self, openid: str, conversation: Conversation, rev: int) -> int:
        if not conversation.active:
            return self.clear(openid, rev)
        return self._write(openid, rev, self._encode(conversation))

    def clear(self, openid: str, rev: int = 0) -> int:
        """Delete the draft and its data; keep the revision so stale writers still conflict."""
        return self._write(openid, rev, "")

    def delete(self, openid: str) -> None:
        """Delete the record, revision included (the user is gone)."""
        self.redis.delete(self.keys.conversation(openid))
        self._remember(openid, 0, "")

    def _write(self, openid: str, rev: int, state: str) -> int:
        new_rev = self._save(keys=[self.keys.conversation(openid)], args=[rev, state, self.ttl])
        if new_rev == -1:
            raise StaleConversation()
        self._remember(openid, new_rev, state)
        return new_rev

    @staticmethod
    def _remember(openid: str, rev: int, state: str) -> None:
        """Keep the records prefetched for this message current: a second load sees this write."""
        records = prefetched(openid)
        if records:
            records.conversation_rev, records.conversation_state = rev, state.encode() or None

    def _encode(self, conversation: Conversation) -> str:
        return json.dumps(self._record(conversation), ensure_ascii=False)

    def _record(self, conversation: Conversation) -> dict:
        record = {f.name: getattr(conversation, f.name) for f in fields(conversation)}
        record["data"] = self.cipher.encrypt(json.dumps(dict(conversation.data), ensure_ascii=False).encode()).decode()
        record["history"] = list(conversation.history)
        record["paused"] = [self._record(draft) for draft in conversation.paused]  # each encrypted the same way
        return record

    def _decode(self, raw: bytes) -> Conversation:
        return self._conversation(json.loads(raw)) if raw else IDLE

    def _conversation(self, record: dict) -> Conversation:
        record["data"] = json.loads(self.cipher.decrypt(record["data"].encode()))
        record["history"] = tuple(record["history"])
        record["paused"] = tuple(self._conversation(draft) for draft in record.get("paused", ()))
        return replace(IDLE, **record)
