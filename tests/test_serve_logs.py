"""`wxbot serve`'s output as a log shipper reads it: one JSON object a line, one `access` line a
request, whatever the request's path holds; and a warning when gunicorn faces clients without a
proxy in front (issue 14, point 7)."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections import Counter
from pathlib import Path

import pytest

from bot.config import ServerSettings
from bot.server import reachable_beyond_loopback, warn_if_exposed
from tests.conftest import free_port, wait_for
from tests.support.processes import DEVELOPMENT, ROOT, healthy

FORGED = '{"event":"forged","level":"error"}'

# gunicorn hands the app the path %-decoded (PEP 3333): a text access log wrote these line breaks
# as real ones, and the rest of the path as a line of its own choosing.
PARSED = [
    # request line, the path the access line must show (as sent, the rest of it %-escaped)
    (f"GET /wechat%0a{FORGED} HTTP/1.1", "/wechat%0a%7B%22event%22:%22forged%22,%22level%22:%22error%22%7D"),
    (f"POST /wechat%0D%0A{FORGED}?signature=x&openid=o_secret_openid HTTP/1.1",
     "/wechat%0D%0A%7B%22event%22:%22forged%22,%22level%22:%22error%22%7D"),
    # NEL and LINE SEPARATOR, which str.splitlines() also takes for line breaks
    ("GET /binding/callback%C2%85%E2%80%A8x HTTP/1.1", "/binding/callback%C2%85%E2%80%A8x"),
]
# gunicorn refuses these before there is a request to log: 400 and one warning line each.
UNPARSED = [f"GET /wechat\n{FORGED} HTTP/1.1", f"GET /wechat\r{FORGED} HTTP/1.1",
            "GET /wechat\x85\u2028 HTTP/1.1"]


def exchange(port: int, request_line: str) -> str:
    """Send one request over a raw socket (no client library would send these); its status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request_line.encode("utf-8") + b"\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    return response.split(b"\r\n", 1)[0].decode()


def test_every_line_is_json_and_each_request_has_one_access_line(running, tmp_path: Path) -> None:
    port = free_port()
    # Bound beyond loopback (all interfaces; the requests go to 127.0.0.1), without behind_proxy.
    env = {**DEVELOPMENT, "WXBOT_SERVER__BIND": f"0.0.0.0:{port}",
           "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis"), "WXBOT_LOG__FORMAT": "json"}
    server = running("serve", "--config", str(ROOT / "config.example.toml"), env=env)
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)

    statuses = [exchange(port, line) for line, _ in PARSED] + [exchange(port, line) for line in UNPARSED]
    os.killpg(server.pid, signal.SIGTERM)
    output, _ = server.communicate(timeout=30)

    assert [status.split(" ")[1] for status in statuses] == ["404"] * len(PARSED) + ["400"] * len(UNPARSED)
    records = [json.loads(line) for line in output.splitlines()]  # every line is one JSON object
    assert all(isinstance(record, dict) and record["event"] != "forged" for record in records)
    access = Counter((r["method"], r["path"], r["status"]) for r in records
                     if r["event"] == "access" and r["path"] != "/healthz")
    assert access == Counter((line.split()[0], path, 404) for line, path in PARSED)
    refused = [r for r in records if r["event"].startswith("Invalid request")]
    assert len(refused) == len(UNPARSED) and {r["logger"] for r in refused} == {"gunicorn.error"}
    assert "o_secret_openid" not in output and "signature=" not in output  # no query strings

    warnings = [r for r in records if r["event"] == "bind_without_proxy"]
    assert [(w["level"], w["bind"]) for w in warnings] == [("warning", f"0.0.0.0:{port}")]


@pytest.mark.parametrize(("bind", "beyond"), [
    ("127.0.0.1:8080", False), ("localhost:8080", False), ("[::1]:8080", False), ("127.0.0.2:8080", False),
    ("unix:/run/wxbot.sock", False), ("0.0.0.0:8080", True), (":8080", True), ("[::]:8080", True),
    ("10.20.0.5:8080", True), ("wx.example.gov.cn:8080", True),
])
def test_reachable_beyond_loopback(bind: str, beyond: bool) -> None:
    assert reachable_beyond_loopback(bind) is beyond


def test_behind_proxy_silences_the_warning(capsys: pytest.CaptureFixture[str]) -> None:
    warn_if_exposed(ServerSettings(bind="0.0.0.0:8080", behind_proxy=True))
    warn_if_exposed(ServerSettings(bind="127.0.0.1:8080"))
    assert capsys.readouterr().err == ""
    warn_if_exposed(ServerSettings(bind="0.0.0.0:8080"))
    assert "bind_without_proxy" in capsys.readouterr().err
