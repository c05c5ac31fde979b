"""What a job needs (Redis, the WeChat API, the binding service), built once per worker process
from the settings in its environment ($WXBOT_CONFIG and WXBOT_* variables)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.binding.factory import binding_service
from bot.binding.service import BindingService
from bot.config import Settings, load_settings
from bot.notify.records import NotificationRecords
from bot.store.client import connect
from bot.store.keys import Keys
from bot.wechat.client import WeChatAPI, wechat_api


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis
    records: NotificationRecords
    wechat: WeChatAPI
    binding: BindingService


_current: Runtime | None = None


def build(settings: Settings, client: redis.Redis | None = None) -> Runtime:
    client = client or connect(settings.redis)
    keys = Keys.of(settings)
    return Runtime(settings, client, NotificationRecords(client, keys), wechat_api(settings, client),
                   binding_service(settings, client))


def use(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    global _current
    if _current is None:
        _current = build(load_settings())
    return _current
