"""Structured logs (JSON lines by default) that never carry personal data.

Openids appear only as `user_ref`, a short keyed hash: enough to follow one user's requests
through the logs, useless for finding out who they are. Message contents are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import sys

import structlog

from bot.config import LogSettings, Settings

_ref_salt = b""


def configure(settings: LogSettings, salt: str) -> None:
    global _ref_salt
    _ref_salt = salt.encode()
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if settings.format == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, settings.level)),
        # One write per line (message and newline together): print() writes them separately, and
        # another process on the same stderr (gunicorn's workers) could write in between.
        logger_factory=structlog.WriteLoggerFactory(_Stderr()),
        # Not cached: a later configure() (tests, the CLI) must reach loggers already used.
        cache_logger_on_first_use=False,
    )


class _Stderr:
    """Whatever sys.stderr is at the moment of writing (test capture or a redirected stream)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_for(settings: Settings) -> None:
    """Every process logs alike: the `[log]` settings, and user_refs keyed with the conversation
    secret (not the WeChat token: it is low-entropy and sometimes public), so that one user has one
    user_ref in the webhook's and the worker's logs."""
    configure(settings.log, salt="user-ref:" + settings.conversation.secret_key)


def user_ref(openid: str) -> str:
    return hashlib.blake2b(openid.encode(), key=_ref_salt[:64], digest_size=6).hexdigest()


log = structlog.get_logger("wxbot")
configure(LogSettings(), salt="")  # defaults until the app configures from settings
