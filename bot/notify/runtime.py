"""What a `wxbot worker` sends with (Redis, the WeChat API, the binding service), built once per
process, with an HTTP connection per sender thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from requests.adapters import HTTPAdapter

from bot.binding.factory import sandbox_service
from bot.binding.http import HttpBindingService
from bot.binding.service import BindingService
from bot.config import Settings
from bot.notify.records import NotificationRecords
from bot.notify.sealed import Seal
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


class _Session(requests.Session):
    """requests reads the proxy and CA variables from the environment again on every request,
    walking the whole environment each time (a tenth of a send's CPU in the benchmark, whose
    workers carry every setting as a variable). A worker's environment does not change: it is
    read once per scheme and host."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return dict(self._environment[key])


def pooled_session(connections: int) -> requests.Session:
    """requests keeps 10 connections per host by default; more threads than that would open and
    drop a connection per call."""
    session = _Session()
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
    records = NotificationRecords(client, Keys.of(settings), Seal(settings.conversation.secret_key))
    return Runtime(settings, client, records, wechat_api(settings, client, session=pooled_session(connections)),
                   binding)
