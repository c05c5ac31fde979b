"""Redis Cluster (issue 16, points 1–2): a real cluster of three masters, each with a replica,
started from the embedded redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import ConfigError
from bot.store.client import connect
from tests.support.cluster import LocalCluster


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
    notification_id = late_id(keys.delivery("o_cluster:msg:1"))
    begun = queue.begin_late(notification_id, "o_cluster", KIND, "g1.sealed")
    assert begun.outcome == "go" and queue.begin_late(notification_id, "o_cluster", KIND, "x").outcome == "exists"
    queue.failed(notification_id, begun.token, "HTTP 503", final=False, retry_in=0)
    assert queue.due(10) == [notification_id]
    again = queue.begin(notification_id, from_stream=False)
    assert (again.outcome, again.kind, again.text, again.attempt) == ("go", KIND, "g1.sealed", 2)
    queue.sent(notification_id, again.token, "")
    record = NotificationRecords(client, keys).get(notification_id)
    assert record["status"] == "sent" and "text" not in record
