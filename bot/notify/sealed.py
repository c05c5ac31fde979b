"""A late answer's text at rest (bot/notify/late.py): in its notification record, and in the
notices waiting for the user's next message when it is parked there.

The text is the bot's reply to the user — names and ID numbers in it are masked already — but it
is still what one person was told about their family, so it is kept encrypted: AES-GCM under a key
derived (HKDF) from `conversation.secret_key`, with its own label, the notification's id bound in
as associated data (a sealed text moved to another record does not open). The webhook seals it, the
webhook and the workers open it: both have the key. A text sealed under a key since rotated does
not open (None): its notification is a dead letter that says so.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "g1."


class Seal:
    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"wxbot late answer").derive(base64.urlsafe_b64decode(secret_key))
        self._cipher = AESGCM(key)

    def seal(self, text: str, notification_id: str) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._cipher.encrypt(nonce, text.encode(), notification_id.encode())
        return _PREFIX + base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str, notification_id: str) -> str | None:
        """The text, or None when it cannot be opened (another key, another record)."""
        if not sealed.startswith(_PREFIX):
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX):])
            return self._cipher.decrypt(raw[:12], raw[12:], notification_id.encode()).decode()
        except (InvalidTag, ValueError):
            return None
