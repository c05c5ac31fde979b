"""Settings: one TOML file, every key overridable as WXBOT_<SECTION>__<KEY>.

`load_settings` is the only entry point. A wrong or missing key raises `ConfigError`
whose message is one line naming the key, so start-up fails loudly and clearly.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import tomllib
from datetime import time, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from bot.menu import DEFAULT_MENU, MenuSettings
from bot.notify.keywords import known_names, type_of
from bot.secret_files import SecretFileError, read_secret_files
from flows.domain.relationships import CLOSE_RELATIVES, Relationship

CONFIG_ENV = "WXBOT_CONFIG"


class ConfigError(Exception):
    """A setting is wrong or missing; the message is one line that names it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    # "production" refuses demo values and stand-ins (bot/production.py); `wxbot run` is "development".
    environment: Literal["production", "development"] = "production"
    bind: str = "127.0.0.1:8080"
    workers: int = Field(2, ge=1, le=64)
    threads: int = Field(8, ge=1, le=256)
    behind_proxy: bool = False


class WechatSettings(_Section):
    appid: str = Field(min_length=1)
    token: str
    encoding_aes_key: str = ""
    allow_plaintext: bool = False   # production refuses plaintext mode unless this says it is meant
    secret: str = ""
    # Each secret may come from a file instead (bot/secret_files.py); these hold the path only.
    token_file: str = ""
    encoding_aes_key_file: str = ""
    secret_file: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    api_timeout: float = Field(5.0, gt=0, le=30)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        # WeChat's own rule for the token field of the server configuration page.
        if not re.fullmatch(r"[A-Za-z0-9]{3,32}", value):
            raise ValueError("must be 3-32 letters or digits, as on WeChat's server configuration page")
        return value

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: str) -> str:
        if not value:
            return value
        try:
            key = base64.b64decode(value + "=", validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(value) != 43 or len(key) != 32:
            raise ValueError("must be the 43-character EncodingAESKey from WeChat, or empty for plaintext mode")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        if not re.match(r"https?://[^/]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)


class RedisSettings(_Section):
    # single: one server at `url`; sentinel: the master `sentinels` name; cluster: a Redis Cluster,
    # `url` naming any of its nodes. Unset: sentinel when `sentinels` are given, else single.
    mode: Literal["single", "sentinel", "cluster"] = "single"
    url: str = ""
    url_file: str = ""                  # the URL from a file (it may carry the password)
    data_dir: Path = Path("var/redis")
    key_prefix: str = Field("wxbot", pattern=r"^[A-Za-z0-9_.-]+$")
    socket_timeout: float = Field(1.0, gt=0, le=10)
    sentinels: list[str] = []
    sentinel_service: str = "mymaster"
    # The sentinels' own ACL user and password (the master's are in `url`, whose host is then ignored).
    sentinel_username: str = ""
    sentinel_password: str = ""
    sentinel_password_file: str = ""
    # TLS (rediss://, and the sentinels too when they are asked over TLS): the CA that signed the
    # servers' certificates, and a client certificate and key if the servers ask for one.
    sentinel_tls: bool = False
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if value and not re.match(r"(redis|rediss|unix)://", value):
            raise ValueError("must start with redis://, rediss:// or unix:// (or be empty for the embedded server)")
        return value

    @field_validator("sentinels")
    @classmethod
    def _sentinel_shape(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[^:\s]+:\d{1,5}", item):
                raise ValueError(f"{item!r} is not host:port")
        return value

    @model_validator(mode="after")
    def _mode_fits(self) -> RedisSettings:
        if self.sentinels and "mode" not in self.model_fields_set:
            self.mode = "sentinel"
        if self.mode == "sentinel" and not self.sentinels:
            raise ValueError("mode 'sentinel' needs redis.sentinels")
        if self.mode == "cluster" and (not self.url or self.url.startswith("unix://")):
            raise ValueError("mode 'cluster' needs redis.url naming one of its nodes (redis:// or rediss://)")
        if self.mode != "sentinel" and self.sentinels:
            raise ValueError(f"redis.sentinels are for mode 'sentinel', not '{self.mode}'")
        return self

    @property
    def embedded(self) -> bool:
        return not self.url and not self.sentinels


class WebhookSettings(_Section):
    reply_deadline: float = Field(4.5, gt=0, lt=5)
    timestamp_window: int = Field(300, ge=10, le=3600)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=1024 * 1024)
    reply_cache_ttl: int = Field(300, ge=30)
    processing_lease: int = Field(30, ge=5)
    user_lock_ttl: int = Field(30, ge=5)
    handler_threads: int = Field(16, ge=1, le=256)
    # Fair share: one user's messages wait in a queue for the one being handled (at most this many),
    # and at most `user_rate_limit` of them are taken per `user_rate_window` seconds.
    user_queue_max: int = Field(5, ge=1, le=100)
    user_rate_limit: int = Field(30, ge=1)
    user_rate_window: int = Field(60, ge=1, le=3600)


class ConversationSettings(_Section):
    secret_key: str                     # Fernet key encrypting the personal data in drafts
    secret_key_file: str = ""
    idle_minutes: int = Field(30, ge=1)     # after this, ask 继续上次 / 重新开始
    expire_hours: int = Field(72, ge=1)     # a draft untouched this long is deleted
    identity_days: int = Field(30, ge=1, le=365)   # a verified identity lasts this long, then verify again
    fresh_minutes: int = Field(15, ge=1)   # binding, unbinding, consent: a new code when verified longer ago

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: str) -> str:
        try:   # strictly: the lenient decoder drops stray characters, so " "+key would be key
            valid = len(base64.b64decode(value.encode(), altchars=b"-_", validate=True)) == 32 and len(value) == 44
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise ValueError("must be a Fernet key (32 url-safe base64 bytes); make one with `wxbot keygen`")
        return value


class LimitSettings(_Section):
    """The bot's own limits on verification and everything guessable, on top of the bureau's
    (bot/binding/guard.py, docs/security.md). Each window starts with its first event."""
    people_per_day: int = Field(3, ge=1)          # different people (ID numbers) one openid may verify
    codes_per_openid_hour: int = Field(5, ge=1)   # verification codes one openid may have sent
    codes_per_person_hour: int = Field(5, ge=1)   # codes one person is sent, whoever asks
    attempts_per_code: int = Field(3, ge=1, le=10)  # tries of one code; then a new one must be sent
    wrong_guesses_per_hour: int = Field(10, ge=1)  # wrong codes (SMS, consent) and unmatched name/ID pairs
    wrong_codes_before_lock: int = Field(5, ge=1)  # wrong SMS codes for one person: then this openid waits
    lock_minutes: int = Field(15, ge=1)            # ... this long (the person is never locked)


class RegionSettings(_Section):
    """The rules that differ by region (domain.md §3). Defaults: a Zhejiang city in 2025."""
    name: str = "杭州市"   # not wording: the region's name, for operators; no reply says it
    area_code: str = Field("330100", pattern=r"^\d{6}$")
    scope: Literal["city", "province"] = "province"
    relationships: list[Relationship] = list(CLOSE_RELATIVES)
    one_relationship_only: bool = False
    consent_age: int = Field(16, ge=0, le=18)
    minor_proof_required: bool = True
    verification_code_length: int = Field(6, ge=4, le=8)   # the bureau's SMS codes: others refused unspent
    shareable_balance: Literal["all", "carried_over"] = "all"
    # Every time a user reads and every age and date the rules use are this zone's, whatever the
    # machine's own (a container's is UTC: 8 hours off, and an age a day off around midnight).
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone name (IANA, e.g. Asia/Shanghai)") from None
        return value

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)   # cached by zoneinfo itself

    @field_validator("relationships")
    @classmethod
    def _no_in_laws(cls, value: list[Relationship]) -> list[Relationship]:
        if Relationship.PARENT_IN_LAW in value:
            raise ValueError("in-laws (parent_in_law) are not allowed in any region")
        if not value:
            raise ValueError("at least one relationship must be allowed")
        return value

    def same_area(self, region: str) -> bool:
        digits = 2 if self.scope == "province" else 4
        return region[:digits] == self.area_code[:digits]


class SandboxSettings(_Section):
    roster: str = ""                    # empty: the demo roster that ships with the project
    verification_code: str = Field("", pattern=r"^(\d{4,8})?$")
    review: Literal["auto", "delayed", "manual"] = "auto"
    review_delay: int = Field(10, ge=0)
    consent_ttl: int = Field(24 * 3600, ge=60)
    callback_url: str = ""              # empty: http://<server.bind>/binding/callback
    consent_url: str = ""               # the member's consent page; empty: the simulator's (wxbot run)
    bind: str = "127.0.0.1:8090"        # where `wxbot sandbox serve` listens


class BindingHttpSettings(_Section):
    base_url: str = ""
    connect_timeout: float = Field(1.0, gt=0, le=10)
    timeout: float = Field(3.0, gt=0, le=30)
    retries: int = Field(2, ge=0, le=5)
    breaker_failures: int = Field(5, ge=1)
    breaker_reset: float = Field(30.0, gt=0)


class BindingSettings(_Section):
    adapter: Literal["sandbox", "http"] = "sandbox"
    key_id: str = Field("wxbot-local", min_length=1)
    secret: str = Field("local-binding-secret-change-me", min_length=16)
    secret_file: str = ""
    callback_window: int = Field(300, ge=10, le=3600)
    reconcile_after: int = Field(600, ge=10)
    sandbox: SandboxSettings = SandboxSettings()
    http: BindingHttpSettings = BindingHttpSettings()

    @model_validator(mode="after")
    def _http_needs_url(self) -> BindingSettings:
        if self.adapter == "http" and not re.match(r"https?://", self.http.base_url):
            raise ValueError("adapter 'http' needs binding.http.base_url (http:// or https://)")
        return self


# The values a notification's keywords are filled with (bot/notify/templates.py).
ValueSource = Literal["member", "relationship", "result", "reason", "decided_at", "application"]
# How a kind of notification reaches its user: a template message (模板消息); a subscription notice
# (订阅通知) to a user who subscribed to it, else the news waits for their next message; or a
# subscription notice, else a template message (bot/notify/subscription.py).
Channel = Literal["template", "subscription", "subscription_then_template"]


def _typed_keywords(value: dict[str, str]) -> dict[str, str]:
    """Each keyword named as WeChat names them: its type and a number (thing1)."""
    for keyword in value:
        if type_of(keyword) is None:
            raise ValueError(f"{keyword!r} is not a keyword as WeChat names them: a type and a number, "
                             f"one of {known_names()}")
    return value


class SubscriptionSettings(_Section):
    """One subscription notice (订阅通知): its template in the console's 订阅通知, whether users
    subscribe to it for good, and which value fills which keyword."""
    template_id: str = Field(min_length=1)
    title: str = "业务办理结果通知"   # not wording: a copy of the console's title
    # A long-term subscription (长期订阅, open to 政务民生, 医疗 … accounts) is kept after a send; a
    # one-time subscription is used up by the send it allowed.
    long_term: bool = False
    # keyword (thing1, phrase2, name3, time4, character_string5 …) → one of the values above. As
    # for a template message, the keyword's name declares its type (bot/notify/keywords.py) and every
    # value is checked against it at start-up (bot/notify/templates.py `problems`), by the type's own
    # limits: a notice has no 20-character cap on every value.
    fields: dict[str, ValueSource] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _typed_keywords(cls, value: dict[str, str]) -> dict[str, str]:
        return _typed_keywords(value)


class TemplateSettings(_Section):
    """One kind of notification: its template message (its id in the WeChat console, and which
    value fills which keyword), and whether it goes out as a subscription notice instead."""
    template_id: str = Field(min_length=1)
    # Its title as the WeChat console has it: WeChat shows the console's, the simulator this copy.
    title: str = "业务办理通知"   # not wording: a copy of the console's title
    # keyword in the template (thing1, phrase2, time3 …) → one of: member, relationship, result,
    # reason, decided_at, application. The keyword's name declares its type (bot/notify/keywords.py);
    # whether every value can fit its type is checked at start-up (bot/notify/templates.py `problems`).
    fields: dict[str, ValueSource]
    channel: Channel = "template"
    subscription: SubscriptionSettings | None = None

    @model_validator(mode="after")
    def _channel_has_its_notice(self) -> TemplateSettings:
        if self.channel != "template" and self.subscription is None:
            raise ValueError(f"channel '{self.channel}' needs its subscription notice (a subscription table: "
                             "template_id, fields)")
        return self

    @property
    def subscribes(self) -> bool:
        """Whether this kind goes out as a subscription notice to users who subscribed."""
        return self.channel != "template"

    @field_validator("fields")
    @classmethod
    def _typed_keywords(cls, value: dict[str, str]) -> dict[str, str]:
        return _typed_keywords(value)


class MiniProgramPage(_Section):
    """A mini program page a card opens (the bureau's own mini program, say)."""
    appid: str = Field(pattern=r"^wx[0-9a-f]{16}$")
    pagepath: str = Field(min_length=1, max_length=256)


class NotificationSettings(_Section):
    max_attempts: int = Field(5, ge=1, le=20)
    retry_intervals: list[int] = [5, 30, 120, 600]   # seconds between attempts
    # WeChat's daily quotas (45009) reset at midnight Beijing time: sends that met one wait, without
    # spending attempts, until this time of day in region.timezone (a minute's grace: clocks differ).
    quota_resume_at: time = time(0, 1)
    senders_per_worker: int = Field(16, ge=1, le=256)   # sends in flight at once in one `wxbot worker`
    reclaim_after: int = Field(60, ge=2, le=3600)       # seconds before a dead worker's notifications are taken over
    link: str = ""                                   # page the card opens; empty: none
    # A mini program page the card opens instead (WeChat opens `link` where it cannot).
    miniprogram: MiniProgramPage | None = None
    approved: TemplateSettings = TemplateSettings(
        template_id="TPL_BINDING_APPROVED", title="家庭共济办理成功通知",   # not wording: the console's
        fields={"thing1": "member", "thing2": "relationship", "phrase3": "result", "time4": "decided_at"})
    rejected: TemplateSettings = TemplateSettings(
        template_id="TPL_BINDING_REJECTED", title="家庭共济办理结果通知",   # not wording: the console's
        fields={"thing1": "member", "phrase2": "result", "thing3": "reason", "time4": "decided_at"})
    terminated: TemplateSettings = TemplateSettings(
        template_id="TPL_BINDING_ENDED", title="家庭共济解除通知",   # not wording: the console's
        fields={"thing1": "member", "phrase2": "result", "thing3": "reason", "time4": "decided_at"})
    # The page where users subscribe to the subscription notices (GET /subscribe), at the address
    # they reach it by: https://wx.example.gov.cn/subscribe, its domain one of the console's
    # JS接口安全域名. Empty: http://<server.bind>/subscribe (development).
    subscribe_page: str = ""

    @field_validator("subscribe_page")
    @classmethod
    def _page_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^/#?\s]+/[^#\s]*", value):
            raise ValueError("must be the page's full http(s) address, without a #fragment")
        return value

    @model_validator(mode="after")
    def _one_kind_of_subscription(self) -> NotificationSettings:
        # WeChat's pop-up refuses to mix one-time and long-term notices (20002), and a template is
        # one or the other.
        if len({notice.long_term for notice in self.subscribed_notices()}) > 1:
            raise ValueError("the subscription notices in use must be all long_term or all one-time: "
                             "WeChat's pop-up cannot offer both at once")
        by_id: dict[str, bool] = {}
        for kind in self.kinds().values():
            if kind.subscription and by_id.setdefault(kind.subscription.template_id,
                                                      kind.subscription.long_term) != kind.subscription.long_term:
                raise ValueError(f"subscription template {kind.subscription.template_id} is long_term for one "
                                 "kind and not for another")
        return self

    def kinds(self) -> dict[str, TemplateSettings]:
        """Each kind of notification by its name."""
        return {"approved": self.approved, "rejected": self.rejected, "terminated": self.terminated}

    def subscribed_notices(self) -> list[SubscriptionSettings]:
        """The subscription notices of the kinds that use them, each template once: what the
        subscribe page offers."""
        notices: dict[str, SubscriptionSettings] = {}
        for kind in self.kinds().values():
            if kind.subscribes and kind.subscription:
                notices.setdefault(kind.subscription.template_id, kind.subscription)
        return list(notices.values())


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WXBOT_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    server: ServerSettings = ServerSettings()
    wechat: WechatSettings
    redis: RedisSettings = RedisSettings()
    webhook: WebhookSettings = WebhookSettings()
    conversation: ConversationSettings
    region: RegionSettings = RegionSettings()
    limits: LimitSettings = LimitSettings()
    binding: BindingSettings = BindingSettings()
    notifications: NotificationSettings = NotificationSettings()
    menu: MenuSettings = DEFAULT_MENU
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init data; the environment must win over them.
        return (env_settings, init_settings)


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (``path``, else $WXBOT_CONFIG), apply the environment, validate."""
    path = path or os.environ.get(CONFIG_ENV)
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config: file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    try:
        read_secret_files(data)
        return Settings(**data)
    except SecretFileError as exc:
        raise ConfigError(str(exc)) from None
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    except SettingsError as exc:  # an environment value that is not valid JSON for a list/section
        raise ConfigError(f"config: {str(exc).splitlines()[0]}") from None


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    env = "WXBOT_" + "__".join(str(part).upper() for part in error["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"config: {key}: unknown setting (a typo? see config.example.toml){more}"
    message = error["msg"].removeprefix("Value error, ")
    return f"config: {key}: {message} — set it in the config file or as {env}{more}"
