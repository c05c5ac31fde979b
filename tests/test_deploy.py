"""The deployment files in deploy/ (issue 16, point 6), checked as far as a machine with no container
engine allows: the Dockerfile linted (hadolint), the systemd units verified (systemd-analyze), and
the compose stack's processes — its commands, its config and its secrets — run for real."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import yaml

from bot.notify.worker import WORKER_TTL
from bot.store.server import find_redis_server
from tests.conftest import free_port, wait_for
from tests.support.processes import ROOT, healthy
from tests.test_production import wxbot

DEPLOY = ROOT / "deploy"
WXBOT_BIN = Path(sys.executable).parent / "wxbot"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_copies_what_exists_installs_the_lock_and_checks_a_real_command() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"(?m)^COPY (?!--from)(.+) \S+$", dockerfile):
        for name in source.split():
            assert (ROOT / name).exists(), f"COPY {name}: not in the project"
    assert "-c constraints.txt" in dockerfile and dockerfile.count("\nFROM ") >= 2
    assert re.search(r"(?m)^USER [1-9]\d*:[1-9]\d*$", dockerfile), "the image must not run as root"
    healthcheck = re.search(r'(?m)^HEALTHCHECK .* CMD \["wxbot", (.+)\]$', dockerfile)
    assert healthcheck, "the image needs a HEALTHCHECK running wxbot"
    args = [arg.strip(' "') for arg in healthcheck.group(1).split(",")]
    assert subprocess.run([str(WXBOT_BIN), *args, "--help"], capture_output=True).returncode == 0


@pytest.mark.parametrize("unit, command", [("wxbot-serve.service", "serve"), ("wxbot-worker@.service", "worker")])
def test_the_systemd_units_verify_and_hand_over_every_secret(tmp_path: Path, unit: str, command: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    assert re.search(rf"(?m)^ExecStart=/opt/wxbot/bin/wxbot {command}$", text)
    credentials = set(re.findall(r"(?m)^LoadCredential=(\w+):", text))
    assert credentials == secret_names()
    # Verified where this machine has the product: the venv's wxbot instead of /opt/wxbot's.
    path = tmp_path / unit.replace("@.service", "@1.service")
    path.write_text(text.replace("/opt/wxbot/bin/wxbot", str(WXBOT_BIN)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert str(path) not in result.stderr, result.stderr   # no warning about the unit itself


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def secret_names() -> set[str]:
    """The secrets the product reads: every `_file` of deploy/config.toml.example."""
    example = (DEPLOY / "config.toml.example").read_text(encoding="utf-8")
    return set(re.findall(r'(?m)^\w+_file = "/run/secrets/(\w+)"', example))


def test_compose_hands_each_process_the_secrets_its_config_names() -> None:
    stack = compose()
    wxbot_secrets = set(stack["x-wxbot"]["secrets"])
    assert wxbot_secrets == secret_names()
    assert set(stack["secrets"]) == wxbot_secrets | {"redis_acl"}
    assert stack["services"]["webhook"]["command"] == ["serve"]
    assert stack["services"]["worker"]["command"] == ["worker"]
    assert "--aclfile" in stack["services"]["redis"]["command"]


def filled_config(tmp_path: Path, secrets_dir: Path) -> Path:
    """deploy/config.toml.example as a deployment fills it in, its secrets in `secrets_dir`."""
    text = (DEPLOY / "config.toml.example").read_text(encoding="utf-8")
    text = text.replace("/run/secrets/", f"{secrets_dir}/").replace('appid = "wxFILLIN"', 'appid = "wx8d3f6a2b9c1e4f70"')
    text = text.replace('key_id = "FILLIN"', 'key_id = "wx-bot-1"').replace("FILLIN.example.gov.cn", "api.example.gov.cn")
    ids = iter(secrets.token_urlsafe(32) for _ in range(3))
    text = re.sub(r'template_id = "FILLIN"', lambda match: f'template_id = "{next(ids)}"', text)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_refuses_to_run_until_filled_in(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    assert wxbot("secrets", str(secrets_dir)).returncode == 0
    (secrets_dir / "wechat_secret").write_text(secrets.token_hex(16))
    unfilled = (DEPLOY / "config.toml.example").read_text(encoding="utf-8").replace("/run/secrets/", f"{secrets_dir}/")
    path = tmp_path / "unfilled.toml"
    path.write_text(unfilled, encoding="utf-8")
    refused = wxbot("check-config", "--config", str(path))
    assert refused.returncode == 1
    named = {line.removeprefix("production refuses ").split(":")[0] for line in refused.stderr.splitlines()
             if "still says FILLIN" in line}
    assert {"wechat.appid", "binding.key_id", "binding.http.base_url", "notifications.approved.template_id"} <= named


def test_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    first = wxbot("secrets", str(secrets_dir))
    assert first.returncode == 0 and "wechat_secret" in first.stdout   # the AppSecret is WeChat's: asked for
    made = {path.name: path.read_text() for path in secrets_dir.iterdir()}
    assert set(made) == secret_names() - {"wechat_secret"} | {"redis_acl"}
    assert secrets_dir.stat().st_mode & 0o077 == 0
    again = wxbot("secrets", str(secrets_dir))
    assert again.returncode == 0 and {path.name: path.read_text() for path in secrets_dir.iterdir()} == made
    password = made["redis_url"].split(":")[2].split("@")[0]
    assert f">{password} " in made["redis_acl"]


def test_the_compose_stack_runs_as_processes(tmp_path: Path, running) -> None:
    """redis-server with the ACL, `wxbot serve` and `wxbot worker` as compose starts them, with the
    secrets `wxbot secrets` made and the example config filled in: production accepts it and serves."""
    secrets_dir, redis_port = tmp_path / "secrets", free_port()
    assert wxbot("secrets", str(secrets_dir), "--redis-host", f"127.0.0.1:{redis_port}").returncode == 0
    (secrets_dir / "wechat_secret").write_text(secrets.token_hex(16) + "\n")
    server = subprocess.Popen([find_redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1",
                               "--aclfile", str(secrets_dir / "redis_acl"), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        anonymous = redis.Redis(port=redis_port)
        wait_for(lambda: _answers(anonymous), timeout=10)
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("x", 1)   # the password is in force
        config = filled_config(tmp_path, secrets_dir)
        checked = wxbot("check-config", "--config", str(config))
        assert checked.returncode == 0 and checked.stdout.startswith("config ok: production,"), checked.stderr
        port = free_port()
        stack = compose()["services"]
        running(*stack["webhook"]["command"], "--config", str(config), env={"WXBOT_SERVER__BIND": f"127.0.0.1:{port}"})
        worker = running(*stack["worker"]["command"], "--config", str(config), env={}, output=tmp_path / "worker.log")
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)
        # The image's HEALTHCHECK and the compose file's worker check, as they run in the containers.
        bound = {"WXBOT_SERVER__BIND": f"127.0.0.1:{port}"}
        assert probe("webhook", config, bound).returncode == 1   # the bureau (made up here) does not answer
        wait_for(lambda: probe("worker", config).returncode == 0, timeout=30)
        os.killpg(worker.pid, signal.SIGKILL)
        # Its last heartbeat, aged by the WORKER_TTL nobody beat since (a dead worker's, as it would
        # be 25 s later): the check fails.
        bot_redis = redis.Redis.from_url((secrets_dir / "redis_url").read_text().strip())
        beats = bot_redis.keys("{*:notify}:workers")
        assert len(beats) == 1 and probe("worker", config).returncode == 0   # still fresh: alive for 25 s
        for member in bot_redis.zrange(beats[0], 0, -1):
            bot_redis.zadd(beats[0], {member: time.time() - WORKER_TTL - 1})
        assert probe("worker", config).returncode == 1
    finally:
        server.terminate()
        server.wait(10)


def probe(what: str, config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return wxbot("probe", what, "--config", str(config), env=env)


def _answers(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.AuthenticationError:
        return True
    except redis.ConnectionError:
        return False
    return True
