"""A message waiting in its user's queue for the user's earlier messages: what the holder of the
user's lock needs to process it later, on another thread or in another process.

That is the message's XML as it was decrypted (it may carry a name or an ID number) and what
its reply's envelope needs. It is stored encrypted like the drafts (Fernet, with
`conversation.secret_key`), is removed from Redis when the lock holder takes it, and lives at most
as long as the queue's key (twice `webhook.user_lock_ttl`) if nobody does. The delivery's key (a
hash) stays readable in front of it, so that an entry that cannot be opened is still answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from bot.webhook.envelope import Envelope


@dataclass(frozen=True)
class QueuedMessage:
    delivery_key: str
    envelope: Envelope | None   # None: the entry could not be opened (a rotated key)
    queued_at: float            # wall clock at admission, for the wait metric


class QueueCodec:
    def __init__(self, secret_key: str, clock: Callable[[], float] = time.time) -> None:
        self._cipher, self._clock = Fernet(secret_key.encode()), clock

    def pack(self, delivery_key: str, envelope: Envelope) -> str:
        payload = json.dumps([envelope.xml, envelope.encrypted, envelope.timestamp, envelope.nonce, self._clock()],
                             ensure_ascii=False)
        return f"{delivery_key}|{self._cipher.encrypt(payload.encode()).decode()}"

    def unpack(self, entry: str) -> QueuedMessage:
        delivery_key, _, sealed = entry.partition("|")
        try:
            xml, encrypted, timestamp, nonce, queued_at = json.loads(self._cipher.decrypt(sealed.encode()))
        except (InvalidToken, ValueError, TypeError):
            return QueuedMessage(delivery_key, None, self._clock())
        return QueuedMessage(delivery_key, Envelope(xml, bool(encrypted), timestamp, nonce), float(queued_at))
