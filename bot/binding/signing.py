"""HMAC-SHA256 request signatures, the same in both directions (bot → bureau, bureau → bot).

    canonical = METHOD \\n path?query \\n timestamp \\n nonce \\n sha256(body)
    X-Key-Id, X-Timestamp, X-Nonce, X-Signature = hex(HMAC-SHA256(secret, canonical))

The verifier checks the key id, a timestamp window and the signature (constant time); the
caller checks the nonce against replays, since that needs shared storage.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

HEADERS = ("X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature")


class SignatureError(Exception):
    pass


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    secret: str


def canonical(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), target, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(key: SigningKey, method: str, target: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp, nonce = str(int(time.time() if now is None else now)), secrets.token_hex(12)
    digest = hmac.new(key.secret.encode(), canonical(method, target, timestamp, nonce, body), hashlib.sha256)
    return {"X-Key-Id": key.key_id, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": digest.hexdigest()}


def verify(key: SigningKey, method: str, target: str, body: bytes, headers: Mapping[str, str],
           window: int, now: float | None = None) -> str:
    """Return the nonce of a valid request; raise SignatureError otherwise."""
    key_id, timestamp, nonce, signature = (headers.get(name, "") for name in HEADERS)
    if not hmac.compare_digest(key_id.encode(), key.key_id.encode()):
        raise SignatureError("unknown key id")
    # ASCII digits of a sane length only: str.isdigit() passes “²”, which int() refuses, and a
    # 400-digit number overflows the float it is compared with — both were a 500 and a traceback.
    if not re.fullmatch(r"[0-9]{1,12}", timestamp) or \
            abs((time.time() if now is None else now) - int(timestamp)) > window:
        raise SignatureError("timestamp outside the window")
    if not 8 <= len(nonce) <= 64:
        raise SignatureError("bad nonce")
    expected = hmac.new(key.secret.encode(), canonical(method, target, timestamp, nonce, body), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest().encode(), signature.encode()):
        raise SignatureError("bad signature")
    return nonce
