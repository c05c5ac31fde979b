"""Secrets given as files (issue 16, point 4): read the way container platforms and systemd hand
them over, refused clearly when ambiguous or missing, and never shown — checked with real processes."""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.secret_files import SECRETS
from tests.conftest import free_port, wait_for
from tests.support.processes import healthy
from tests.test_production import production_config, wxbot

KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
OTHER_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config(tmp_path: Path, conversation: str, wechat: str = 'token = "tok123"') -> Path:
    return write(tmp_path / "config.toml", f'[wechat]\nappid = "wx1"\n{wechat}\n[conversation]\n{conversation}\n')


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WXBOT_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def test_a_secret_is_read_from_its_file_without_the_trailing_newline(tmp_path: Path) -> None:
    key_file = write(tmp_path / "key", KEY + "\n")
    token_file = write(tmp_path / "token", "fromafile123\r\n")
    settings = load_settings(config(tmp_path, f'secret_key_file = "{key_file}"', f'token_file = "{token_file}"'))
    assert settings.conversation.secret_key == KEY
    assert settings.wechat.token == "fromafile123"


def test_every_secret_setting_can_be_a_file(tmp_path: Path) -> None:
    values = {("wechat", "token"): "tok456", ("wechat", "encoding_aes_key"): "a" * 43, ("wechat", "secret"): "s" * 32,
              ("conversation", "secret_key"): KEY, ("binding", "secret"): "b" * 40, ("redis", "url"): "redis://:pw@db:6379/0",
              ("redis", "sentinel_password"): "sentinel-pw"}
    assert set(values) == set(SECRETS)
    sections: dict[str, list[str]] = {"wechat": ['appid = "wx1"']}
    for (section, key), value in values.items():
        path = write(tmp_path / f"{section}.{key}", value)
        sections.setdefault(section, []).append(f'{key}_file = "{path}"')
    text = "".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items())
    settings = load_settings(write(tmp_path / "all.toml", text))
    for (section, key), value in values.items():
        assert getattr(getattr(settings, section), key) == value


def test_the_environment_wins_over_the_config_file_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config(tmp_path, f'secret_key = "{KEY}"')
    monkeypatch.setenv("WXBOT_CONVERSATION__SECRET_KEY_FILE", str(write(tmp_path / "key", OTHER_KEY)))
    assert load_settings(path).conversation.secret_key == OTHER_KEY   # the environment's file over the value

    path = config(tmp_path, f'secret_key_file = "{write(tmp_path / "key2", OTHER_KEY)}"')
    monkeypatch.delenv("WXBOT_CONVERSATION__SECRET_KEY_FILE")
    monkeypatch.setenv("WXBOT_CONVERSATION__SECRET_KEY", KEY)
    assert load_settings(path).conversation.secret_key == KEY         # the environment's value over the file


def test_a_relative_path_is_a_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    write(credentials / "conversation-key", KEY)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert load_settings(config(tmp_path, 'secret_key_file = "conversation-key"')).conversation.secret_key == KEY


@pytest.mark.parametrize("problem, expected", [
    ("missing", r"^config: conversation\.secret_key_file: cannot read .*/nowhere \(No such file or directory\)$"),
    ("empty", r"^config: conversation\.secret_key_file: .*/empty is empty$"),
    ("both", r"^config: conversation\.secret_key: both secret_key and secret_key_file are set; keep one$"),
])
def test_a_problem_is_one_line_naming_the_setting_and_never_the_value(tmp_path: Path, problem: str,
                                                                      expected: str) -> None:
    key_file = write(tmp_path / "key", KEY)
    lines = {"missing": f'secret_key_file = "{tmp_path / "nowhere"}"',
             "empty": f'secret_key_file = "{write(tmp_path / "empty", chr(10))}"',
             "both": f'secret_key = "{OTHER_KEY}"\nsecret_key_file = "{key_file}"'}
    with pytest.raises(ConfigError) as error:
        load_settings(config(tmp_path, lines[problem]))
    assert re.match(expected, str(error.value)), str(error.value)
    assert KEY not in str(error.value) and OTHER_KEY not in str(error.value)


def test_both_forms_in_the_environment_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WXBOT_CONVERSATION__SECRET_KEY", KEY)
    monkeypatch.setenv("WXBOT_CONVERSATION__SECRET_KEY_FILE", str(write(tmp_path / "key", KEY)))
    with pytest.raises(ConfigError, match="both WXBOT_CONVERSATION__SECRET_KEY and WXBOT_CONVERSATION__SECRET_KEY_FILE"):
        load_settings(config(tmp_path, ""))


def secrets_as_files(tmp_path: Path, redis_url: str) -> tuple[Path, dict[str, str], list[str]]:
    """A production config whose every secret is a file in a credentials directory (systemd's way);
    returns the config, the environment that points at them, and the values."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    values = {"wechat_token": secrets.token_hex(12), "wechat_secret": secrets.token_hex(16),
              "wechat_aes": base64.b64encode(secrets.token_bytes(32)).decode()[:43],
              "conversation_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
              "binding_secret": secrets.token_urlsafe(36), "redis_url": redis_url}
    for name, value in values.items():
        write(credentials / name, value + "\n")
        (credentials / name).chmod(0o400)
    text = production_config(tmp_path, redis_url).read_text(encoding="utf-8")
    # Every secret line of the real deployment's config becomes a reference to its credential.
    for key, name in (("token", "wechat_token"), ("encoding_aes_key", "wechat_aes"), ("secret", "wechat_secret"),
                      ("url", "redis_url"), ("secret_key", "conversation_key"), ("secret", "binding_secret")):
        text = re.sub(rf'(?m)^{key} = ".*"$', f'{key}_file = "{name}"', text, count=1)
    assert '_file = "' in text and not re.search(r'(?m)^(token|secret|secret_key|url|encoding_aes_key) = ', text)
    return write(tmp_path / "files.toml", text), {"CREDENTIALS_DIRECTORY": str(credentials)}, list(values.values())


def test_production_serves_from_secret_files_and_never_shows_them(tmp_path: Path, redis_server, running) -> None:
    path, env, values = secrets_as_files(tmp_path, redis_server.url)
    checked = wxbot("check-config", "--config", str(path), env=env)
    assert checked.returncode == 0 and checked.stdout.startswith("config ok: production,"), checked.stderr
    port = free_port()
    server = running("serve", "--config", str(path), env={**env, "WXBOT_SERVER__BIND": f"127.0.0.1:{port}"})
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), timeout=30)
    os.killpg(server.pid, 15)
    output, _ = server.communicate(timeout=30)
    for value in values:
        assert value not in checked.stdout + checked.stderr + output


def test_a_demo_secret_in_a_file_is_refused_like_any_other(tmp_path: Path, redis_server) -> None:
    path, env, _ = secrets_as_files(tmp_path, redis_server.url)
    demo = tmp_path / "credentials" / "binding_secret"
    demo.chmod(0o600)
    write(demo, "local-binding-secret-change-me")
    refused = wxbot("check-config", "--config", str(path), env=env)
    assert refused.returncode == 1
    assert "production refuses binding.secret" in refused.stderr and "local-binding-secret-change-me" not in refused.stderr


def test_settings_written_out_whole_read_back_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key in the environment, the empty `_file`s included (how a child process is handed
    its parent's settings): empty is no file."""
    from tests.support.processes import settings_env

    settings = load_settings(config(tmp_path, f'secret_key = "{KEY}"'))
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert load_settings(None) == settings
