"""Structured logs (JSON lines by default) that never carry personal data.

Openids appear only as `user_ref`, a short keyed hash: enough to follow one user's requests
through the logs, useless for finding out who they are. Message contents are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from urllib.parse import quote

import structlog

from bot.config import LogSettings, Settings

_ref_salt = b""
_settings = LogSettings()


def configure(settings: LogSettings, salt: str) -> None:
    global _ref_salt, _settings
    _ref_salt, _settings = salt.encode(), settings
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _timestamp(),
            structlog.processors.format_exc_info,
            _renderer(settings),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, settings.level)),
        # One write per line (message and newline together): print() writes them separately, and
        # another process on the same stderr (gunicorn's workers) could write in between.
        logger_factory=structlog.WriteLoggerFactory(_Stderr()),
        # Not cached: a later configure() (tests, the CLI) must reach loggers already used.
        cache_logger_on_first_use=False,
    )


def _timestamp() -> structlog.processors.TimeStamper:
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def _renderer(settings: LogSettings) -> structlog.typing.Processor:
    return (structlog.processors.JSONRenderer(ensure_ascii=False) if settings.format == "json"
            else structlog.dev.ConsoleRenderer(colors=False))


def stdlib_formatter() -> logging.Formatter:
    """For libraries that log through the standard library (gunicorn's own messages): the same
    lines as ours, with `event` (the message), `level`, `timestamp` and `logger`."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.processors.add_log_level, structlog.stdlib.add_logger_name, _timestamp()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, _renderer(_settings)])


def loggable_path(path: str) -> str:
    """A request's path as sent (its %-escapes kept), everything but letters, digits and URL
    punctuation %-escaped as well — control characters, quotes, braces, non-ASCII: whatever a client
    puts there stays inside one field of one line. Servers hand paths over as latin-1 text
    (PEP 3333), one character a byte."""
    return quote(path, safe="/%:@!$&'()*+,;=~", encoding="latin-1", errors="backslashreplace")


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
