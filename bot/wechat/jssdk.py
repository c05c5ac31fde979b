"""The JS-SDK's signature of a page, for `wx.config`: the SHA-1 of
`jsapi_ticket=…&noncestr=…&timestamp=…&url=…` — the four fields in that order (their names'
ASCII order), the url the page's own address as the browser has it, without its #fragment."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any


def signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    signed = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url.split('#')[0]}"
    return hashlib.sha1(signed.encode("utf-8")).hexdigest()   # noqa: S324 - WeChat's scheme, not our choice


def page_config(appid: str, ticket: str, url: str, now: float) -> dict[str, Any]:
    """What the page passes to `wx.config` (besides the APIs and open tags it asks for)."""
    nonce, timestamp = secrets.token_hex(8), int(now)
    return {"appId": appid, "timestamp": timestamp, "nonceStr": nonce,
            "signature": signature(ticket, nonce, timestamp, url)}
