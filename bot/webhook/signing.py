"""WeChat's SHA-1 request signatures, compared in constant time, and the timestamp window."""

from __future__ import annotations

import hashlib
import hmac
import time


def wechat_signature(*parts: str) -> str:
    """sha1 of the parts sorted and joined: both `signature` and `msg_signature` are this."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's protocol


def signature_matches(expected: str, given: str | None) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), (given or "").encode("utf-8", "replace"))


def timestamp_is_fresh(timestamp: str, window: int, now: float | None = None) -> bool:
    """WeChat sends the current Unix time; a replay from outside the window is refused."""
    now = time.time() if now is None else now
    return abs(now - int(timestamp)) <= window
