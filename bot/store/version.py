"""The production Redis' version, checked when `serve` and `worker` start (docs/operations.md, Redis).

Too old to work (no XAUTOCLAIM before 6.2): refused. Older than its release line's latest security
release, or on a line Redis no longer patches: one warning line, not a refusal — distributions
backport fixes without changing the version (Debian 12's redis-server 7.0.15-1~deb12u10 says
7.0.15), so the number alone cannot prove a server unpatched, and refusing would turn an advisory
into an outage at the next restart.
"""

from __future__ import annotations

import re

import redis

from bot.config import RedisSettings
from bot.logs import log
from bot.store.client import connect

OLDEST_WORKING = (6, 2, 0)  # the dispatcher claims stalled entries with XAUTOCLAIM

# The newest security release of each line Redis still maintains: the urgent release of 2026-07-24
# (remote code execution, CVE-2026-12087 among others). Raise them with every security release.
PATCHED = {
    (6, 2): (6, 2, 23), (7, 2): (7, 2, 15), (7, 4): (7, 4, 10),
    (8, 2): (8, 2, 8), (8, 4): (8, 4, 5), (8, 6): (8, 6, 5), (8, 8): (8, 8, 1),
}


class RedisTooOld(Exception):
    """The server lacks commands the product uses; the message is one line naming its version."""


def parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = (re.findall(r"\d+", version) + ["0", "0", "0"])[:3]
    return int(major), int(minor), int(patch)


def patched_minimum(version: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """The oldest release with every known security fix on `version`'s line or a later one, when
    `version` is older than that; None for a patched version, or a line newer than PATCHED."""
    candidates = [release for line, release in PATCHED.items() if line >= version[:2]]
    if not candidates or version >= min(candidates):
        return None
    return min(candidates)


def check_server(settings: RedisSettings) -> None:
    """Raise RedisTooOld, or log `redis_unpatched`, for the configured external Redis. A server
    not answering is not checked: the commands start anyway and wait for it. A cluster none of
    whose nodes answers cannot even be given a client: RedisClusterException (not a RedisError)."""
    try:
        info = connect(settings).info("server")
    except redis.RedisError:
        return
    if "valkey_version" in info:
        return  # Valkey keeps redis_version at 7.2.4; its releases are not in PATCHED
    version = parse(str(info.get("redis_version", "0")))
    shown = ".".join(map(str, version))
    if version < OLDEST_WORKING:
        raise RedisTooOld(f"redis: the server is Redis {shown}; the bot needs 6.2 or newer "
                          f"(with security fixes: {_shown(patched_minimum(version))} or newer)")
    minimum = patched_minimum(version)
    if minimum:
        log.warning("redis_unpatched", version=shown, minimum=_shown(minimum),
                    fix="upgrade Redis (or check that your distribution backported the fixes)")


def _shown(version: tuple[int, int, int] | None) -> str:
    return ".".join(map(str, version or ()))
