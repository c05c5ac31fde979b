"""Production refuses the laptop's values (issue 14, point 1): real `wxbot` processes, real configs."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path

from bot.config import load_settings
from bot.production import DEMO_VALUES, refusals
from tests.conftest import free_port, wait_for
from tests.support.processes import ROOT, WXBOT, healthy

EXAMPLE = str(ROOT / "config.example.toml")


def wxbot(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    # Only this test's WXBOT_ values: an inherited one would change what is being checked.
    base = {name: value for name, value in os.environ.items() if not name.startswith("WXBOT_")}
    return subprocess.run([*WXBOT, *args], cwd=ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def named_keys(stderr: str) -> set[str]:
    return {line.removeprefix("production refuses ").split(":")[0]
            for line in stderr.splitlines() if line.startswith("production refuses ")}


def production_config(tmp_path: Path, redis_url: str, **changes: str) -> Path:
    """What a real deployment writes: its own random secrets, the bureau's adapter, a shared Redis."""
    values = {
        "token": secrets.token_hex(12),
        "secret": secrets.token_hex(16),
        "aes": base64.b64encode(secrets.token_bytes(32)).decode()[:43],
        "key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "binding_secret": secrets.token_urlsafe(36),
        "plaintext": "",
    } | changes
    path = tmp_path / "production.toml"
    path.write_text(f"""
[wechat]
appid = "wx1234567890abcdef"
token = "{values['token']}"
encoding_aes_key = "{values['aes']}"
secret = "{values['secret']}"
{values['plaintext']}
[redis]
url = "{redis_url}"
[conversation]
secret_key = "{values['key']}"
[binding]
adapter = "http"
key_id = "wx-bot-1"
secret = "{values['binding_secret']}"
http = {{ base_url = "https://api.example.gov.cn" }}
[notifications.approved]
template_id = "k3mFq0w9ZxTrA1cdPvY7eH2sLgN5bUoJiRt8yWa4XcE"
fields = {{ thing1 = "member" }}
[notifications.rejected]
template_id = "p9LwQz2VnB7yK4cX1mT6rJ8hD3sFgA5eUoWiR0tNbYq"
fields = {{ thing1 = "member" }}
[notifications.terminated]
template_id = "Zr5TyU8iO1pA3sD6fG9hJ2kL4zX7cV0bN3mQwEeRtYu"
fields = {{ thing1 = "member" }}
""", encoding="utf-8")
    return path


def test_serve_with_the_example_config_exits_naming_every_demo_key() -> None:
    result = wxbot("serve", "--config", EXAMPLE)
    assert result.returncode == 1
    assert named_keys(result.stderr) >= {*DEMO_VALUES, "binding.adapter", "wechat.encoding_aes_key", "redis.url",
                                         "notifications.approved.template_id"}
    assert "Booting worker" not in result.stdout + result.stderr   # nothing was started
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(set(lines)) and all(len(line) < 200 for line in lines)   # one line per key


def test_worker_and_check_config_refuse_the_same(tmp_path: Path) -> None:
    for command in ("worker", "check-config"):
        result = wxbot(command, "--config", EXAMPLE)
        assert result.returncode == 1, command
        assert DEMO_VALUES.keys() <= named_keys(result.stderr), command


def test_a_config_of_three_sections_runs_no_sandbox_and_no_built_in_secret(tmp_path: Path) -> None:
    # The finding: [wechat], [conversation] and [redis] only ran the sandbox bureau inside `serve`,
    # with the built-in binding secret that forged a callback.
    config = tmp_path / "short.toml"
    config.write_text(f"""
[wechat]
appid = "wx1234567890abcdef"
token = "{secrets.token_hex(12)}"
encoding_aes_key = "{base64.b64encode(secrets.token_bytes(32)).decode()[:43]}"
secret = "{secrets.token_hex(16)}"
[conversation]
secret_key = "{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"
[redis]
url = "redis://127.0.0.1:1/0"
""", encoding="utf-8")
    result = wxbot("serve", "--config", str(config))
    assert result.returncode == 1
    assert named_keys(result.stderr) == {"binding.secret", "binding.adapter", "notifications.approved.template_id",
                                         "notifications.rejected.template_id", "notifications.terminated.template_id"}


def test_weak_secrets_are_refused_whatever_their_shape(tmp_path: Path, redis_server) -> None:
    cases = {
        "wechat.token": {"token": "abc"},                       # WeChat's page accepts 3 letters
        "binding.secret": {"binding_secret": "ab" * 20},        # long, but one pair repeated
        "conversation.secret_key": {"key": base64.urlsafe_b64encode(b"\0" * 32).decode()},
        "wechat.secret": {"secret": "not-an-app-secret"},
    }
    for key, change in cases.items():
        settings = load_settings(production_config(tmp_path, redis_server.url, **change))
        assert [line.split(":")[0] for line in refusals(settings)] == [key], key


def test_a_real_deployments_config_passes(tmp_path: Path, redis_server) -> None:
    result = wxbot("check-config", "--config", str(production_config(tmp_path, redis_server.url)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config ok: production,") and "safe (AES) mode" in result.stdout


def test_plaintext_needs_saying_so_and_is_logged_as_a_warning(tmp_path: Path, redis_server, running) -> None:
    plain = production_config(tmp_path, redis_server.url, aes="")
    refused = wxbot("check-config", "--config", str(plain))
    assert refused.returncode == 1 and named_keys(refused.stderr) == {"wechat.encoding_aes_key"}

    allowed = production_config(tmp_path, redis_server.url, aes="", plaintext="allow_plaintext = true")
    port = free_port()
    server = running("serve", "--config", str(allowed), env={"WXBOT_SERVER__BIND": f"127.0.0.1:{port}"})
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)
    os.killpg(server.pid, 15)
    output, _ = server.communicate(timeout=30)
    assert '"event": "plaintext_mode"' in output and '"level": "warning"' in output


def test_the_local_stand_ins_refuse_a_production_config(tmp_path: Path, redis_server) -> None:
    config = str(production_config(tmp_path, redis_server.url))
    for command in (["run"], ["sandbox", "serve"], ["sandbox", "sms"]):
        result = wxbot(*command, "--config", config, timeout=30)
        assert result.returncode == 1, command
        assert result.stderr.strip().startswith(f"`wxbot {command[0]}` is for development"), result.stderr
    # Saying production outright is refused too, even with the example's values.
    said = wxbot("sandbox", "sms", "--config", EXAMPLE, env={"WXBOT_SERVER__ENVIRONMENT": "production"})
    assert said.returncode == 1 and "is for development" in said.stderr


def test_development_accepts_the_example() -> None:
    result = wxbot("check-config", "--config", EXAMPLE, env={"WXBOT_SERVER__ENVIRONMENT": "development"})
    assert result.returncode == 0, result.stderr
    assert "config ok: development" in result.stdout and "sandbox binding service" in result.stdout


EXAMPLE_KEY = "bG9jYWwtZGV2LW9ubHkta2V5LWZvci13eGJvdC0zMiE="   # config.example.toml's conversation.secret_key


def test_the_example_key_is_refused_however_it_is_written(tmp_path: Path, redis_server) -> None:
    # base64's lenient decoder drops stray characters: these would be the example's key itself.
    config = str(production_config(tmp_path, redis_server.url))
    for variant in (EXAMPLE_KEY + "\n", " " + EXAMPLE_KEY, EXAMPLE_KEY[:8] + "." + EXAMPLE_KEY[8:]):
        result = wxbot("check-config", "--config", config, env={"WXBOT_CONVERSATION__SECRET_KEY": variant})
        assert result.returncode != 0 and "conversation.secret_key" in result.stderr, repr(variant)


def test_published_and_typed_secrets_are_refused(tmp_path: Path, redis_server) -> None:
    cases = {
        "wechat.encoding_aes_key": {"aes": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},   # WeChat's sample
        "wechat.token": {"token": "qwertyuiopasdfgh"},                                      # a keyboard row
    }
    cases_also = [{"token": "1234567890abcdef"}, {"binding_secret": "Zx9" + "abcdefghij" + secrets.token_hex(12)}]
    for key, change in cases.items():
        assert [line.split(":")[0] for line in refusals(load_settings(
            production_config(tmp_path, redis_server.url, **change)))] == [key], key
    for change in cases_also:
        assert refusals(load_settings(production_config(tmp_path, redis_server.url, **change))), change
