"""A message waiting in its user's queue for the user's earlier messages: what the holder of the
user's lock needs to process it later, on another thread or in another process.

That is the message's XML as it was decrypted (it may carry a name or an ID number) and what
its reply's envelope needs. It is stored encrypted — AES-GCM with a key derived from
`conversation.secret_key`, the delivery's key bound in as associated data — is removed from Redis
when the lock holder takes it, and lives at most as long as the queue's key (twice
`webhook.user_lock_ttl`) if nobody does. The delivery's key (a hash) stays readable in front of
it, so that an entry that cannot be opened is still answered.

Every message that may queue seals its entry before its admission (the admission queues it in the
same round trip), so sealing must cost next to nothing: AES-GCM is one call, where Fernet costs
several object constructions and a separate HMAC. Entries sealed with Fernet (before this format)
are still opened.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.webhook.envelope import Envelope

_GCM = "g1."   # the sealed part's prefix in this format


@dataclass(frozen=True)
class QueuedMessage:
    delivery_key: str
    envelope: Envelope | None   # None: the entry could not be opened (a rotated key)
    queued_at: float            # wall clock at admission, for the wait metric


class QueueCodec:
    def __init__(self, secret_key: str, clock: Callable[[], float] = time.time) -> None:
        self._fernet, self._clock = Fernet(secret_key.encode()), clock
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"wxbot queued message").derive(base64.urlsafe_b64decode(secret_key))
        self._cipher = AESGCM(key)

    def pack(self, delivery_key: str, envelope: Envelope) -> str:
        payload = json.dumps([envelope.xml, envelope.encrypted, envelope.timestamp, envelope.nonce, self._clock()],
                             ensure_ascii=False)
        nonce = os.urandom(12)
        sealed = nonce + self._cipher.encrypt(nonce, payload.encode(), delivery_key.encode())
        return f"{delivery_key}|{_GCM}{base64.urlsafe_b64encode(sealed).decode()}"

    def unpack(self, entry: str) -> QueuedMessage:
        delivery_key, _, sealed = entry.partition("|")
        try:
            if sealed.startswith(_GCM):
                raw = base64.urlsafe_b64decode(sealed[len(_GCM):])
                payload = self._cipher.decrypt(raw[:12], raw[12:], delivery_key.encode())
            else:
                payload = self._fernet.decrypt(sealed.encode())
            xml, encrypted, timestamp, nonce, queued_at = json.loads(payload)
        except (InvalidTag, InvalidToken, ValueError, TypeError):
            return QueuedMessage(delivery_key, None, self._clock())
        return QueuedMessage(delivery_key, Envelope(xml, bool(encrypted), timestamp, nonce), float(queued_at))
