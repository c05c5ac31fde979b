"""What a handler answers with; the webhook renders it (passive reply) or sends it later
(customer-service message) when the work outlived WeChat's deadline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class NoReply:
    """Acknowledge with `success`: WeChat shows nothing to the user."""


Reply = Text | NoReply
