"""The client connects by redis://, unix:// and through Redis Sentinel — all real servers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.config import RedisSettings
from bot.store.client import connect
from bot.store.server import RedisServer, find_redis_server
from tests.conftest import free_port, wait_for


def test_unix_socket_url(redis_server: RedisServer) -> None:
    client = connect(RedisSettings(url=redis_server.url))
    assert redis_server.url.startswith("unix://")
    assert client.ping()


def test_the_embedded_servers_files_are_the_owners_alone(tmp_path: Path) -> None:
    data = tmp_path / "redis"
    data.mkdir()
    (data / "appendonly.aof").write_text("")           # left by an earlier run, world-readable
    (data / "appendonly.aof").chmod(0o644)
    with RedisServer(data, port=free_port(), appendonly=True) as server:
        client = connect(RedisSettings(url=server.url))
        client.set("k", "v")
        rewritten(client)
    assert data.stat().st_mode & 0o777 == 0o700
    files = [path for path in data.iterdir() if path.is_file()]
    assert files and all(path.stat().st_mode & 0o077 == 0 for path in files), \
        [(path.name, oct(path.stat().st_mode)) for path in files]


def rewritten(client) -> None:
    """Wait for the start's rewrite, then rewrite once more (what is written now is on disk)."""
    wait_for(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
    client.bgrewriteaof()
    wait_for(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)


def test_deleted_drafts_leave_the_embedded_servers_aof_at_the_next_start(tmp_path: Path) -> None:
    data, port = tmp_path / "redis", free_port()
    with RedisServer(data, port=port, appendonly=True) as server:
        client = connect(RedisSettings(url=server.url))
        client.set("wxbot:wx1:draft:o_someone", "ciphertext-of-a-deleted-draft")
        client.set("wxbot:wx1:draft:o_kept", "ciphertext-of-a-kept-draft")
        client.delete("wxbot:wx1:draft:o_someone")
    assert b"ciphertext-of-a-deleted-draft" in (data / "appendonly.aof").read_bytes()   # as Redis wrote it
    with RedisServer(data, port=port, appendonly=True) as server:
        client = connect(RedisSettings(url=server.url))
        wait_for(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
                 and client.info("persistence")["aof_last_bgrewrite_status"] == "ok")
        wait_for(lambda: b"ciphertext-of-a-deleted-draft" not in (data / "appendonly.aof").read_bytes())
        assert client.get("wxbot:wx1:draft:o_kept") == b"ciphertext-of-a-kept-draft"


def test_the_embedded_server_rewrites_its_aof_at_a_size_bound(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", port=free_port(), appendonly=True) as server:
        client = connect(RedisSettings(url=server.url))
        rewritten(client)
        assert client.config_get("auto-aof-rewrite-min-size")["auto-aof-rewrite-min-size"] == str(1024 * 1024)
        for n in range(300):    # ~2.4 MB written and deleted again: the AOF doubles past 1 MB
            client.set(f"wxbot:wx1:draft:o_{n}", "x" * 8000)
            client.delete(f"wxbot:wx1:draft:o_{n}")
        # Compacted by Redis itself (Redis' default bound, 64 MB, would keep all 2.4 MB on disk).
        wait_for(lambda: client.info("persistence")["aof_current_size"] < 1024 * 1024, timeout=20)


def test_tcp_url(tmp_path: Path) -> None:
    with RedisServer(tmp_path, port=free_port(), appendonly=False) as server:
        client = connect(RedisSettings(url=server.url))
        client.set("k", "v")
        assert client.get("k") == b"v"


@pytest.fixture
def sentinel(tmp_path: Path):
    master = RedisServer(tmp_path / "master", port=free_port(), appendonly=False).start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor wxmaster 127.0.0.1 {master.port} 1\n")
    process = subprocess.Popen([find_redis_server(), str(conf), "--sentinel"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(10)
        master.cleanup()


def test_sentinel_finds_the_master(sentinel: int) -> None:
    settings = RedisSettings(sentinels=[f"127.0.0.1:{sentinel}"], sentinel_service="wxmaster")
    assert not settings.embedded
    client = connect(settings)

    def works() -> bool:
        try:
            client.set("through", "sentinel")
            return client.get("through") == b"sentinel"
        except Exception:  # noqa: BLE001 - the sentinel may still be starting
            return False

    wait_for(works, timeout=15)
