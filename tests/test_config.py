"""Settings: the TOML file, environment overrides, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = ('[conversation]\nsecret_key = "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="\n'
           '[wechat]\nappid = "wx1"\ntoken = "tok123"\n')


def test_example_config_is_valid_and_complete() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.redis.embedded
    assert not settings.wechat.safe_mode
    # Every key of every section is documented in the example file.
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")

    def documented(section: str, model: BaseModel) -> None:
        assert f"\n[{section}]" in text or f"\n[[{section}." in text, f"[{section}] is missing from config.example.toml"
        for key in type(model).model_fields:
            value = getattr(model, key)
            if isinstance(value, BaseModel):
                documented(f"{section}.{key}", value)
            elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
                assert f"\n[[{section}.{key}]]" in text, f"[[{section}.{key}]] is not in config.example.toml"
            else:
                # A key the example leaves at its default may be shown commented out.
                assert f"\n{key} = " in text or f"\n# {key} = " in text, \
                    f"{section}.{key} is not documented in config.example.toml"

    for section in type(settings).model_fields:
        documented(section, getattr(settings, section))


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WXBOT_WEBHOOK__REPLY_DEADLINE", "3.5")
    monkeypatch.setenv("WXBOT_REDIS__URL", "redis://example:6379/2")
    settings = load_settings(write(tmp_path, MINIMAL + '[redis]\nurl = "redis://other/0"\n'))
    assert settings.webhook.reply_deadline == 3.5
    assert settings.redis.url == "redis://example:6379/2"
    assert settings.wechat.appid == "wx1"


def test_config_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WXBOT_CONFIG", str(write(tmp_path, MINIMAL)))
    assert load_settings().wechat.token == "tok123"


@pytest.mark.parametrize("text, env, expected", [
    ("", {}, "config: wechat: Field required"),
    ('[wechat]\nappid = "wx1"\n', {}, "config: wechat.token: Field required — set it in the config file or as WXBOT_WECHAT__TOKEN"),
    (MINIMAL, {"WXBOT_WECHAT__TOKEN": "a"}, "config: wechat.token: must be 3-32 letters or digits"),
    (MINIMAL + 'encoding_aes_key = "short"\n', {}, "config: wechat.encoding_aes_key: must be the 43-character EncodingAESKey"),
    (MINIMAL, {"WXBOT_WEBHOOK__REPLY_DEADLINE": "6"}, "config: webhook.reply_deadline: Input should be less than 5"),
    (MINIMAL, {"WXBOT_REDIS__URL": "http://x"}, "config: redis.url: must start with redis://"),
    (MINIMAL + "[webhook]\nreply_dedline = 3\n", {}, "config: webhook.reply_dedline: unknown setting"),
    (MINIMAL, {"WXBOT_CONVERSATION__SECRET_KEY": "short"}, "config: conversation.secret_key: must be a Fernet key"),
    (MINIMAL + "[server]\nworkers = 'many'\n", {}, "config: server.workers: Input should be a valid integer"),
    ("[wechat\n", {}, "is not valid TOML"),
])
def test_a_wrong_setting_is_one_line_naming_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     text: str, env: dict, expected: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
