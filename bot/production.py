"""What production refuses: the laptop's values and stand-ins (issue 14).

`server.environment` is "production" unless a config says "development" (or `wxbot run` starts
the local stack). In production, `serve`, `worker` and `check-config` refuse to start with any of
`refusals(settings)`: one line per offending key. Demo secrets must never sign, encrypt or
authenticate anything real: with the example's token anyone can write as any user.
"""

from __future__ import annotations

import base64
import re

from bot.config import Settings

# The values config.example.toml and the built-in defaults ship with. tests/test_production.py
# checks that every secret in config.example.toml is here, so the two cannot drift apart.
DEMO_VALUES = {
    "wechat.appid": {"wx0000000000000000"},
    "wechat.token": {"localdevtoken"},
    "wechat.secret": {"localdevsecret", ""},
    "conversation.secret_key": {"bG9jYWwtZGV2LW9ubHkta2V5LWZvci13eGJvdC0zMiE="},
    "binding.secret": {"local-binding-secret-change-me"},
    # WeChat's own documentation shows this EncodingAESKey (and so do many samples): it is public.
    "wechat.encoding_aes_key": {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},
}
DEMO_TEMPLATE_IDS = {"TPL_BINDING_APPROVED", "TPL_BINDING_REJECTED", "TPL_BINDING_ENDED",
                     "SUB_BINDING_APPROVED", "SUB_BINDING_REJECTED"}

# Strength, beyond the shape WeChat's console accepts: a token signs every delivery (SHA-1 over
# token+timestamp+nonce), the binding secret is an HMAC key. Random values pass with room to spare;
# words, keyboard runs and short values do not.
TOKEN_MIN_LENGTH = 16
HMAC_MIN_LENGTH = 32
MIN_DISTINCT = 8    # different characters (or key bytes): 'aaaa…', '12121212…' are refused


def refusals(settings: Settings) -> list[str]:
    """One line per key that must not run production; empty in development."""
    if settings.server.environment != "production":
        return []
    wechat, binding = settings.wechat, settings.binding
    found = [_demo(key, _value(settings, key)) for key in DEMO_VALUES]
    found += [
        _weak("wechat.token", wechat.token, TOKEN_MIN_LENGTH, "a random 16-32 letters and digits, "
              "the same on WeChat's server configuration page"),
        None if not wechat.secret or re.fullmatch(r"[A-Za-z0-9]{32}", wechat.secret)
        else "wechat.secret: is not an AppSecret (32 letters and digits, from WeChat's console)",
        _weak("binding.secret", binding.secret, HMAC_MIN_LENGTH, "a random secret agreed with the bureau "
              "(e.g. `openssl rand -base64 48`)"),
        _weak_key("conversation.secret_key", settings.conversation.secret_key),
        _weak("wechat.encoding_aes_key", wechat.encoding_aes_key, 43, "WeChat's generated EncodingAESKey")
        if wechat.encoding_aes_key else None,
        None if wechat.encoding_aes_key or wechat.allow_plaintext
        else "wechat.encoding_aes_key: empty is plaintext mode (anyone on the path reads and replays "
             "messages); set the EncodingAESKey (safe mode), or wechat.allow_plaintext = true",
        "binding.adapter: the sandbox bureau approves anything and keeps codes in Redis; "
        "use \"http\" and the bureau's binding.http.base_url" if binding.adapter == "sandbox" else None,
        "redis.url: empty starts an embedded redis-server, for a laptop; "
        "set the shared Redis' URL (or redis.sentinels)" if settings.redis.embedded else None,
    ]
    for kind in ("approved", "rejected", "terminated"):
        template_id = getattr(settings.notifications, kind).template_id
        if template_id in DEMO_TEMPLATE_IDS:
            found.append(f"notifications.{kind}.template_id: {template_id} is the example's placeholder; "
                         "use the template's id from WeChat's console")
    found += _subscription_refusals(settings)
    found += _unfilled(settings.model_dump(mode="json"))
    return [line for line in _first_per_key(found) if line]


def _subscription_refusals(settings: Settings) -> list[str]:
    """The subscription notices in use need their console's ids, and a page WeChat opens over HTTPS
    at an address of the console's JS接口安全域名 (the JS-SDK signs the page's own address)."""
    notifications = settings.notifications
    found = []
    for name, kind in notifications.kinds().items():
        if kind.subscribes and kind.subscription and kind.subscription.template_id in DEMO_TEMPLATE_IDS:
            found.append(f"notifications.{name}.subscription.template_id: {kind.subscription.template_id} is the "
                         "example's placeholder; use the id from the console's 订阅通知")   # not wording: operators'
    if notifications.subscribed_notices() and not notifications.subscribe_page.startswith("https://"):
        found.append("notifications.subscribe_page: subscription notices are in use; set the subscribe page's "
                     "https:// address (its domain among the console's JS接口安全域名)")   # not wording: operators'
    return found


# deploy/config.toml.example marks what each deployment must fill in.
UNFILLED = "FILLIN"


def _unfilled(values: object, key: str = "") -> list[str]:
    """Every setting still saying FILLIN, as deploy/config.toml.example left it."""
    if isinstance(values, dict):
        return [line for name, value in values.items() for line in _unfilled(value, f"{key}.{name}".lstrip("."))]
    if isinstance(values, list):
        return [line for value in values for line in _unfilled(value, key)]
    if isinstance(values, str) and UNFILLED in values:
        return [f"{key}: still says {UNFILLED}; fill in your deployment's value"]
    return []


def warnings(settings: Settings) -> list[tuple[str, dict[str, str]]]:
    """Log events for what runs, allowed but noteworthy: (event, fields)."""
    found = []
    if settings.server.environment == "development":
        found.append(("development_environment", {"note": "demo values and the sandbox are allowed; "
                                                          "never expose this to WeChat or the internet"}))
    elif not settings.wechat.encoding_aes_key:
        found.append(("plaintext_mode", {"note": "wechat.allow_plaintext: deliveries are unencrypted"}))
    return found


def _value(settings: Settings, dotted: str) -> str:
    section, key = dotted.split(".")
    return getattr(getattr(settings, section), key)


def _demo(key: str, value: str) -> str | None:
    if value not in DEMO_VALUES[key]:
        return None
    shown = "empty" if not value else "the example's value"
    return f"{key}: {shown}; set your own (WXBOT_{key.upper().replace('.', '__')})"


def _weak(key: str, value: str, min_length: int, advice: str) -> str | None:
    if len(value) >= min_length and not _patterned(value):
        return None
    return f"{key}: too weak to guard production ({len(value)} characters); use {advice}"


def _weak_key(key: str, value: str) -> str | None:
    if not _patterned(base64.urlsafe_b64decode(value.encode())):   # its shape is checked in settings
        return None
    return f"{key}: not random; make one with `wxbot keygen`"


# Rows of a keyboard and the alphabet: a run of RUN_LENGTH of them (either way) is typed, not drawn.
_RUNS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")
RUN_LENGTH = 6


def _patterned(value: str | bytes) -> bool:
    """Few different characters, one short run repeated, or a keyboard or alphabet run: not a
    random value."""
    raw = _bytes(value)
    if len(set(raw)) < MIN_DISTINCT or re.fullmatch(rb"(.+?)\1+", raw, re.DOTALL):
        return True
    if isinstance(value, bytes):
        return False
    lowered = value.lower()
    return any(row[i:i + RUN_LENGTH] in lowered or row[::-1][i:i + RUN_LENGTH] in lowered
               for row in _RUNS for i in range(len(row) - RUN_LENGTH + 1))


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _first_per_key(lines: list[str | None]) -> list[str | None]:
    """A demo value is usually weak too: say the first reason once per key."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        if line:
            key = line.split(":", 1)[0]
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return kept
