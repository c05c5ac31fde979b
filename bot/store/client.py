"""The Redis client every part of the product uses."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from bot.config import RedisSettings


def connect(settings: RedisSettings, url: str | None = None, blocking: bool = False,
            timeout: float | None = None) -> redis.Redis:
    """A client with short timeouts, so that a dead Redis costs milliseconds, not the deadline.

    One immediate retry on a connection error lets a pooled connection that died with a Redis
    restart reconnect transparently; timeouts are not retried, they already cost a full wait.
    `blocking` clients (the job worker's, which waits on the queue) have no read timeout; a
    `timeout` client (calls made at WeChat's deadline) waits that long at most and never retries.
    """
    options = {
        "socket_timeout": None if blocking else (timeout or settings.socket_timeout),
        "socket_connect_timeout": timeout or settings.socket_timeout,
        "retry": Retry(NoBackoff(), 0 if timeout else 1, supported_errors=(redis.ConnectionError,)),
        "health_check_interval": 30,
    }
    if settings.sentinels:
        hosts = [(host, int(port)) for host, port in (item.rsplit(":", 1) for item in settings.sentinels)]
        sentinel = Sentinel(hosts, sentinel_kwargs={"socket_timeout": settings.socket_timeout}, **options)
        return sentinel.master_for(settings.sentinel_service)
    return redis.Redis.from_url(url or settings.url, **options)
