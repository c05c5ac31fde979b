"""What a `wxbot worker` sends with (Redis, the WeChat API, the binding service), built once per
process, with an HTTP connection per sender thread."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import requests
from requests.adapters import HTTPAdapter

from bot.binding.factory import sandbox_service
from bot.binding.http import HttpBindingService
from bot.binding.service import BindingService
from bot.config import Settings
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


def pooled_session(connections: int) -> requests.Session:
    """requests keeps 10 connections per host by default; more threads than that would open and
    drop a connection per call."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, connections))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def build(settings: Settings, client: redis.Redis | None = None, connections: int = 10) -> Runtime:
    client = client or connect(settings.redis)
    binding: BindingService
    if settings.binding.adapter == "http":
        binding = HttpBindingService(settings.binding, session=pooled_session(connections))
    else:
        binding = sandbox_service(settings, client)
    return Runtime(settings, client, NotificationRecords(client, Keys.of(settings)),
                   wechat_api(settings, client, session=pooled_session(connections)), binding)
