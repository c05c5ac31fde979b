"""Redis Cluster (issue 16, points 1–3): a real cluster of three masters, each with a replica,
started from the embedded redis-server; and one that speaks only TLS (to clients, on the cluster
bus, between master and replica) and asks its clients for a certificate, from Debian's
redis-server 7.0 (the embedded 6.2 has no TLS)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.connection import SSLConnection
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from bot.config import ConfigError
from bot.store.client import connect
from tests.conftest import CONVERSATION_KEY, wait_for
from tests.support.cluster import LocalCluster
from tests.support.processes import DEVELOPMENT, ROOT, WXBOT
from tests.support.tls import certificates, tls_settings


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    started = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


def test_mode_cluster_reaches_every_node_from_one(cluster: LocalCluster, make_settings) -> None:
    client = connect(make_settings(redis={"mode": "cluster", "url": cluster.url}).redis)
    for n in range(30):   # keys spread over the three masters' slots
        client.set(f"spread:{n}", n)
    owners = {cluster.master_of(f"spread:{n}") for n in range(30)}
    assert len(owners) == 3 and all(int(client.get(f"spread:{n}")) == n for n in range(30))


@pytest.mark.parametrize("redis_settings, problem", [
    ({"mode": "cluster", "url": ""}, "mode 'cluster' needs redis.url"),
    ({"mode": "sentinel", "url": ""}, "mode 'sentinel' needs redis.sentinels"),
    ({"mode": "cluster", "url": "redis://h:1/0", "sentinels": ["h:26379"]}, "sentinels are for mode 'sentinel'"),
])
def test_a_mode_without_what_it_needs_is_refused(make_settings, redis_settings: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_settings(redis=redis_settings)


def test_sentinels_alone_still_mean_sentinel(make_settings) -> None:
    assert make_settings(redis={"sentinels": ["127.0.0.1:26379"]}).redis.mode == "sentinel"


def test_a_late_answers_scripts_run_in_one_slot(cluster: LocalCluster, make_settings) -> None:
    """A late answer's record, claim, retry and settling (bot/notify/late.py) are multi-key scripts
    on the notification keys: one hash tag, one slot, so a cluster runs them (no CROSSSLOT)."""
    from bot.notify.late import KIND, late_id
    from bot.notify.queue import NotificationQueue
    from bot.notify.records import NotificationRecords
    from bot.store.keys import Keys

    settings = make_settings(redis={"mode": "cluster", "url": cluster.url})
    client, keys = connect(settings.redis), Keys.of(settings)
    queue = NotificationQueue(client, settings)
    notification_id = late_id(keys.delivery("o_cluster", "msg:1"))
    begun = queue.begin_late(notification_id, "o_cluster", KIND, "g1.sealed")
    assert begun.outcome == "go" and queue.begin_late(notification_id, "o_cluster", KIND, "x").outcome == "exists"
    queue.failed(notification_id, begun.token, "HTTP 503", final=False, retry_in=0)
    assert queue.due(10) == [notification_id]
    again = queue.begin(notification_id, from_stream=False)
    assert (again.outcome, again.kind, again.text, again.attempt) == ("go", KIND, "g1.sealed", 2)
    queue.sent(notification_id, again.token, "")
    record = NotificationRecords(client, keys).get(notification_id)
    assert record["status"] == "sent" and "text" not in record


# -- TLS ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    certs = certificates(tmp_path_factory.mktemp("certs"))
    started = LocalCluster(tmp_path_factory.mktemp("tls-cluster"), tls=certs, tls_auth_clients="yes").start()
    yield started
    started.stop()


def test_rediss_cluster_reaches_every_master_over_tls(tls_cluster: LocalCluster, make_settings) -> None:
    assert tls_cluster.url.startswith("rediss://")
    client = connect(make_settings(redis={"mode": "cluster", "url": tls_cluster.url, **tls_settings(tls_cluster.tls)}).redis)
    for n in range(30):
        client.set(f"tls-spread:{n}", n)
    owners = {tls_cluster.master_of(f"tls-spread:{n}") for n in range(30)}
    assert len(owners) == 3 and all(int(client.get(f"tls-spread:{n}")) == n for n in range(30))
    # The two masters it learnt from CLUSTER SLOTS, not only the one in the url, over TLS: the
    # nodes have no plaintext port to fall back to.
    assert {node.port for node in client.get_nodes() if node.server_type == "primary"} == owners
    assert all(node.redis_connection.connection_pool.connection_class is SSLConnection for node in client.get_nodes())
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_cluster.ports[1], socket_timeout=1, retry=Retry(NoBackoff(), 0)).ping()
    # Replication runs over TLS too: every replica's link to its master comes up, and the keys reach it.
    def replicas() -> list[dict]:
        replication = {port: tls_cluster.client(port).info("replication") for port in tls_cluster.ports}
        return [(port, info) for port, info in replication.items() if info["role"] == "slave"]

    wait_for(lambda: all(info["master_link_status"] == "up" for _, info in replicas()), timeout=15)
    copies = {port: tls_cluster.client(port).dbsize() for port, _ in replicas()}
    assert len(copies) == 3 and sum(copies.values()) >= 30 and all(copies.values())


@pytest.mark.parametrize("which, reason", [
    ("a wrong CA", "certificate verify failed"),                # another CA's: the nodes' certificate is not trusted
    # The right CA, but the nodes ask for a certificate. TLS 1.3 checks it after the client's side
    # of the handshake: the server's alert either arrives first, or its close breaks our first write.
    ("no client certificate", "certificate required|EOF occurred in violation of protocol"),
])
def test_a_client_the_tls_cluster_refuses_fails_at_once(tls_cluster: LocalCluster, tmp_path: Path, make_settings,
                                                        which: str, reason: str) -> None:
    tls = {"tls_ca_file": certificates(tmp_path)["ca"]} if which == "a wrong CA" else {"tls_ca_file": tls_cluster.tls["ca"]}
    settings = make_settings(redis={"mode": "cluster", "url": tls_cluster.url, **tls})
    started = time.monotonic()
    with pytest.raises(RedisClusterException, match=reason):
        connect(settings.redis).ping()
    assert time.monotonic() - started < 5   # ~0.03 s when measured: not a hang, nor retries


@pytest.mark.parametrize("right_ca", [True, False])
def test_worker_on_the_tls_cluster_runs_or_stops_in_one_line(tls_cluster: LocalCluster, tmp_path: Path,
                                                             right_ca: bool) -> None:
    """A real `wxbot worker --burst` with the cluster as its Redis: with the CA and the client
    certificate it runs; with a wrong CA it stops at once, one line saying why, no traceback."""
    tls = tls_settings(tls_cluster.tls if right_ca else certificates(tmp_path))
    env = {**os.environ, **DEVELOPMENT, "WXBOT_REDIS__MODE": "cluster", "WXBOT_REDIS__URL": tls_cluster.url,
           **{f"WXBOT_REDIS__{key.upper()}": value for key, value in tls.items()},
           "WXBOT_CONVERSATION__SECRET_KEY": CONVERSATION_KEY, "WXBOT_REDIS__KEY_PREFIX": "tls-cluster"}
    result = subprocess.run([*WXBOT, "worker", "--burst", "--config", str(ROOT / "config.example.toml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    if right_ca:
        assert result.returncode == 0, result.stderr
        assert "worker_stopped" in result.stderr
    else:
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert last.startswith("redis: ") and "certificate verify failed" in last
