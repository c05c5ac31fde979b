"""The `wxbot` command as an operator uses it: real processes, the embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import requests

from bot.config import load_settings
from bot.menu import DEFAULT_MENU
from flows import texts
from handlers.router import welcome
from tests.conftest import free_port, wait_for
from tests.support.processes import DEVELOPMENT, ROOT, WXBOT, child_pids, healthy


def wxbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*WXBOT, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_check_config_names_the_wrong_key(tmp_path: Path) -> None:
    result = wxbot("check-config", "--config", str(ROOT / "config.example.toml"),
                   env={"WXBOT_WEBHOOK__TIMESTAMP_WINDOW": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config: webhook.timestamp_window: Input should be a valid integer, unable to parse string as an "
        "integer — set it in the config file or as WXBOT_WEBHOOK__TIMESTAMP_WINDOW"]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""




def test_serve_runs_gunicorn_workers_on_an_embedded_redis(running, tmp_path: Path) -> None:
    port = free_port()
    env = {**DEVELOPMENT, "WXBOT_SERVER__BIND": f"127.0.0.1:{port}", "WXBOT_SERVER__WORKERS": "2",
           "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis"), "WXBOT_LOG__FORMAT": "json"}
    server = running("serve", "--config", str(ROOT / "config.example.toml"), env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: healthy(url), timeout=30)

    said = wxbot("say", "--config", str(ROOT / "config.example.toml"), "--url", url, "--openid", "o_cli", "你好")
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == texts.IDLE_MOVES["greeting"]

    # A worker that exits (as gunicorn recycles them) must not take the embedded Redis with it.
    workers = [pid for pid in child_pids(server.pid) if "bot.cli" in cmdline(pid)]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGTERM)
    wait_for(lambda: workers[0] not in child_pids(server.pid), timeout=15)
    wait_for(lambda: len([p for p in child_pids(server.pid) if "bot.cli" in cmdline(p)]) == 2, timeout=15)
    assert healthy(url)

    os.killpg(server.pid, signal.SIGTERM)
    output, _ = server.communicate(timeout=30)
    assert server.returncode == 0
    assert output.count("Booting worker") == 3  # two, and the replacement
    assert (tmp_path / "redis" / "appendonly.aof").exists()  # the embedded Redis persisted
    assert "o_cli" not in output and "你好" not in output  # no openid, no message text in the logs
    assert "bind_without_proxy" not in output  # bound to loopback: no proxy needed


def test_run_starts_the_local_stack(running, tmp_path: Path) -> None:
    port, fake_port, simulator_port = free_port(), free_port(), free_port()
    env = {"WXBOT_SERVER__BIND": f"127.0.0.1:{port}", "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis")}
    running("run", "--config", str(ROOT / "config.example.toml"), "--fake-wechat-port", str(fake_port),
            "--simulator-port", str(simulator_port), env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: healthy(url), timeout=30)
    said = wxbot("say", "--config", str(ROOT / "config.example.toml"), "--url", url, "--event", "subscribe")
    assert said.stdout.strip() == welcome(DEFAULT_MENU)   # config.example.toml's menu is the default one
    assert requests.get(f"http://127.0.0.1:{fake_port}/fake/sent", timeout=5).json() == []
    simulator = f"http://127.0.0.1:{simulator_port}"
    assert "公众号模拟器" in requests.get(simulator, timeout=5).text
    assert requests.get(f"{simulator}/api/config", timeout=5).json()["desk"] is True


def test_run_s_local_servers_answer_only_their_own_host_and_log_no_token(running, tmp_path: Path) -> None:
    """The fake WeChat API and the simulator (with the sandbox desk's SMS codes) refuse a Host that
    is not theirs — a page whose name was made to resolve to 127.0.0.1 (DNS rebinding) — and their
    request logs leave out query strings: the fake API's carry access tokens."""
    port, fake_port, simulator_port = free_port(), free_port(), free_port()
    env = {"WXBOT_SERVER__BIND": f"127.0.0.1:{port}", "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis")}
    process = running("run", "--config", str(ROOT / "config.example.toml"), "--fake-wechat-port", str(fake_port),
                      "--simulator-port", str(simulator_port), env=env)
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)
    fake, simulator = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{simulator_port}"

    wechat = load_settings(ROOT / "config.example.toml").wechat
    token = requests.post(f"{fake}/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": wechat.appid, "secret": wechat.secret}, timeout=5).json()["access_token"]
    assert requests.get(f"{fake}/cgi-bin/menu/get", params={"access_token": token}, timeout=5).json()["errcode"] == 46003
    assert requests.get(f"{simulator}/api/inbox", params={"openid": "o_secret_openid"}, timeout=5).status_code == 200
    for url, port_ in ((f"{fake}/fake/stats", fake_port), (f"{simulator}/api/desk", simulator_port)):
        assert requests.get(url, headers={"Host": f"evil.example:{port_}"}, timeout=5).status_code == 400
        assert requests.get(url, headers={"Host": "evil.example"}, timeout=5).status_code == 400
        assert requests.get(url, headers={"Host": f"localhost:{port_}"}, timeout=5).status_code == 200

    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert '"GET /cgi-bin/menu/get" 200' in output and '"GET /api/inbox" 200' in output  # logged…
    assert token not in output and "o_secret_openid" not in output  # …without their query strings
    assert "redis_unpatched" not in output  # the embedded Redis is for development: not checked
