"""Redis as operators run it (issue 16, point 3): Sentinel with an ACL user and password on the
master and on the sentinels, a database other than 0, and TLS — real servers, a real message
through the webhook each time. The embedded redis-server (6.2) has no TLS; Debian's (7.0, installed
by `make test`) has, and runs the TLS cases."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.app import create_app
from bot.config import Settings
from bot.simulator.wechat_side import WeChatSide
from bot.store.client import connect
from bot.store.server import find_redis_server
from tests.conftest import free_port, wait_for
from tests.support.tls import DEBIAN_REDIS, certificates, tls_config, tls_settings
from tests.support.webhook import Webhook


class Servers:
    """redis-server processes started for one test, stopped after it."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.processes = directory, []

    def start(self, name: str, config: str, binary: str = "", sentinel: bool = False) -> None:
        path = self.directory / f"{name}.conf"   # a file: Sentinel rewrites its own configuration
        path.write_text(config + f"\ndir {self.directory}\nlogfile {self.directory / name}.log\n", encoding="utf-8")
        self.processes.append(subprocess.Popen([binary or find_redis_server(), str(path),
                                                *(["--sentinel"] if sentinel else [])]))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    started = Servers(tmp_path)
    yield started
    started.stop()


def answering(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def a_message_goes_through(settings: Settings) -> None:
    webhook = Webhook(create_app(settings), WeChatSide(settings.wechat))
    assert "家庭共济" in webhook.say("你好", openid="o_redis_auth")["Content"]


def sentinel_setup(servers: Servers, master_port: int, sentinel_port: int, master_extra: str = "",
                   sentinel_extra: str = "", binary: str = "") -> None:
    # The master: no default user; the bot's own user, allowed everything.
    servers.start("master", f"port {master_port}\nbind 127.0.0.1\nsave \"\"\nuser default off\n"
                            f"user wxbot on >master-pw ~* &* +@all\n{master_extra}", binary)
    # The sentinel logs in to the master as that user, and asks its own clients for a password.
    servers.start("sentinel", f"port {sentinel_port}\nbind 127.0.0.1\n{sentinel_extra}\n"
                              f"sentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
                              "sentinel auth-user mymaster wxbot\nsentinel auth-pass mymaster master-pw\n"
                              "user default off\nuser watcher on >sentinel-pw +@all\n", binary, sentinel=True)


def test_sentinel_with_acl_users_and_a_database(servers: Servers, make_settings) -> None:
    master_port, sentinel_port = free_port(), free_port()
    sentinel_setup(servers, master_port, sentinel_port)
    settings = make_settings(redis={"url": "redis://wxbot:master-pw@mymaster/3", "sentinels": [f"127.0.0.1:{sentinel_port}"],
                                    "sentinel_username": "watcher", "sentinel_password": "sentinel-pw"})
    client = connect(settings.redis)
    wait_for(lambda: answering(client), timeout=15)
    client.set("wxbot-test", "here")
    master = redis.Redis(port=master_port, username="wxbot", password="master-pw", db=3)
    assert master.get("wxbot-test") == b"here"            # the master, database 3
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=sentinel_port).sentinel_masters()   # the sentinel is not open to anyone
    a_message_goes_through(settings)
    assert master.dbsize() > 1 and redis.Redis(port=master_port, username="wxbot", password="master-pw").dbsize() == 0


def test_a_wrong_sentinel_password_is_an_error_not_a_hang(servers: Servers, make_settings) -> None:
    master_port, sentinel_port = free_port(), free_port()
    sentinel_setup(servers, master_port, sentinel_port)
    wait_for(lambda: answering(redis.Redis(port=sentinel_port, username="watcher", password="sentinel-pw")), timeout=15)
    settings = make_settings(redis={"url": "redis://wxbot:master-pw@mymaster/3", "sentinels": [f"127.0.0.1:{sentinel_port}"],
                                    "sentinel_username": "watcher", "sentinel_password": "wrong"})
    started = time.monotonic()
    with pytest.raises(redis.RedisError):
        connect(settings.redis).ping()
    assert time.monotonic() - started < 3


# -- TLS ---------------------------------------------------------------------------------------
def test_rediss_single_server(servers: Servers, tmp_path: Path, make_settings) -> None:
    certs, port = certificates(tmp_path), free_port()
    servers.start("tls", f"port 0\ntls-port {port}\nbind 127.0.0.1\nsave \"\"\nrequirepass single-pw\n{tls_config(certs)}",
                  DEBIAN_REDIS)
    settings = make_settings(redis={"url": f"rediss://:single-pw@127.0.0.1:{port}/2", **tls_settings(certs)})
    client = connect(settings.redis)
    wait_for(lambda: answering(client), timeout=15)
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, password="single-pw", socket_timeout=1).ping()   # plaintext is not spoken
    a_message_goes_through(settings)


def test_sentinel_over_tls_with_acl_users(servers: Servers, tmp_path: Path, make_settings) -> None:
    certs = certificates(tmp_path)
    master_port, sentinel_port = free_port(), free_port()
    tls = tls_config(certs)
    sentinel_setup(servers, master_port, sentinel_port,
                   master_extra=f"port 0\ntls-port {master_port}\n{tls}",
                   sentinel_extra=f"port 0\ntls-port {sentinel_port}\ntls-replication yes\n{tls}", binary=DEBIAN_REDIS)
    settings = make_settings(redis={"url": "rediss://wxbot:master-pw@mymaster/4", "sentinels": [f"127.0.0.1:{sentinel_port}"],
                                    "sentinel_username": "watcher", "sentinel_password": "sentinel-pw",
                                    "sentinel_tls": True, **tls_settings(certs)})
    client = connect(settings.redis)
    wait_for(lambda: answering(client), timeout=20)
    a_message_goes_through(settings)
