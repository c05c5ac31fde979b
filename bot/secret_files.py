"""Secrets given as files, the way container platforms (Docker and Kubernetes secrets) and systemd
credentials (`LoadCredential=`) hand them over: every secret setting `<key>` can instead be
`<key>_file = "/run/secrets/…"` in the config file, or WXBOT_<SECTION>__<KEY>_FILE in the
environment. A relative path is read from $CREDENTIALS_DIRECTORY, where systemd puts a unit's
credentials. The value is never shown: a problem names the setting and the path only.

Which one counts, strongest first: the environment's value, the environment's file, the config
file's value, the config file's file. Both forms at the same level are refused (which one was meant?).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# (section, key) of every setting that is a secret. A Redis URL may carry the server's password.
SECRETS = (("wechat", "token"), ("wechat", "encoding_aes_key"), ("wechat", "secret"),
           ("conversation", "secret_key"), ("binding", "secret"), ("redis", "url"), ("redis", "sentinel_password"))

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"


class SecretFileError(Exception):
    """A secret's file is missing, unreadable, empty, or given alongside the value itself."""


def read_secret_files(data: dict[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Replace each `<key>_file` of the config file's `data` with the file's content, in place, and
    put the environment's `_FILE` files in as values too (the environment's plain value, if any,
    still wins: pydantic applies it over these)."""
    for section, key in SECRETS:
        values = data.get(section)
        values = values if isinstance(values, dict) else {}
        env = f"WXBOT_{section.upper()}__{key.upper()}"
        name = f"{section}.{key}"
        # An empty `_file` is no file (settings written out whole carry every key, these included).
        env_file, config_file = environ.get(f"{env}_FILE"), values.pop(f"{key}_file", None)
        if env in environ and env_file:
            raise SecretFileError(f"config: {name}: both {env} and {env}_FILE are set; keep one")
        if key in values and config_file:
            raise SecretFileError(f"config: {name}: both {key} and {key}_file are set; keep one")
        path = env_file or config_file
        if env in environ or not path:
            continue
        data.setdefault(section, values)[key] = _read(name, str(path), environ)


def _read(name: str, path: str, environ: Mapping[str, str]) -> str:
    where = Path(path)
    if not where.is_absolute() and environ.get(CREDENTIALS_ENV):
        where = Path(environ[CREDENTIALS_ENV]) / where
    try:
        value = where.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"config: {name}_file: cannot read {where} ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise SecretFileError(f"config: {name}_file: {where} is not UTF-8 text") from None
    if not value:
        raise SecretFileError(f"config: {name}_file: {where} is empty")
    return value
