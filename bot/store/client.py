"""The Redis client every part of the product uses."""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.connection import SSLConnection, parse_url
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
    if settings.mode == "sentinel":
        return _sentinel_master(settings, options)
    url = url or settings.url
    if settings.mode == "cluster":
        return _cluster(url, settings, options)
    return redis.Redis.from_url(url, **options, **(_tls(settings) if url.startswith("rediss://") else {}))


def _sentinel_master(settings: RedisSettings, options: dict[str, Any]) -> redis.Redis:
    """The master the sentinels name. `redis.url`, if set, says how to log in to it: its user,
    password, database and TLS (rediss://); its host is the sentinels' business, not ours."""
    master = parse_url(settings.url) if settings.url else {}
    tls = master.get("connection_class") is SSLConnection
    login = {key: master[key] for key in ("username", "password", "db") if master.get(key) is not None}
    # No retries of a sentinel: the next sentinel is the retry (redis-py's default spends 4 s on a wrong password).
    sentinel_kwargs = {"socket_timeout": settings.socket_timeout, "socket_connect_timeout": settings.socket_timeout,
                       "retry": Retry(NoBackoff(), 0),
                       "username": settings.sentinel_username or None, "password": settings.sentinel_password or None,
                       **({"ssl": True, **_tls(settings)} if settings.sentinel_tls else {})}
    hosts = [(host, int(port)) for host, port in (item.rsplit(":", 1) for item in settings.sentinels)]
    sentinel = Sentinel(hosts, sentinel_kwargs=sentinel_kwargs, **options, **login,
                        **({"ssl": True, **_tls(settings)} if tls else {}))
    return sentinel.master_for(settings.sentinel_service)


def _cluster(url: str, settings: RedisSettings, options: dict[str, Any]) -> redis.Redis:
    """A Redis Cluster client, which finds every node from the one in `url` and follows the slots
    as they move (a failover, a resharding). Its own retries follow a MOVED slot; a dead node's
    calls fail like any Redis outage, for the seconds a replica takes to be promoted."""
    from redis.cluster import RedisCluster

    options = {key: value for key, value in options.items() if key != "health_check_interval"}
    tls = _tls(settings) if url.startswith("rediss://") else {}
    return RedisCluster.from_url(url, **options, **tls)   # type: ignore[return-value] - the same commands


def _tls(settings: RedisSettings) -> dict[str, Any]:
    files = {"ssl_ca_certs": settings.tls_ca_file, "ssl_certfile": settings.tls_cert_file,
             "ssl_keyfile": settings.tls_key_file}
    return {key: path for key, path in files.items() if path}
