"""`wxbot redis migrate` (issue 16, point 1): a Redis as the version before the keys' hash tags left
it — tests/fixtures/old_layout.json, written by that version's own code (make_old_layout.py) — moved
to the new names, on the same server and into a real Redis Cluster, and read by this version: the
half-done binding goes on, the identity link holds, the decision a worker had taken is still
pending for a worker, an early decision still waits for its owner, notices still wait."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from bot.app import create_app
from bot.binding.decisions import Decisions
from bot.cli import main
from bot.conversations.identities import Identities
from bot.conversations.store import ConversationStore
from bot.notify.queue import NotificationQueue
from bot.simulator.wechat_side import WeChatSide
from bot.store.client import connect
from bot.store.keys import Keys
from bot.store.server import RedisServer
from flows.texts import RESUME_QUESTION
from tests.conftest import APPID, CONVERSATION_KEY
from tests.support.binding import person
from tests.support.cluster import LocalCluster
from tests.support.processes import settings_env
from tests.support.webhook import Webhook

OLD = json.loads((Path(__file__).parent / "fixtures" / "old_layout.json").read_text())
KEYS = Keys("wxbot", APPID)
NS = f"wxbot:{APPID}"


def restore_old_layout(client: redis.Redis) -> None:
    for key, (pttl, payload) in OLD.items():
        client.restore(key, max(pttl, 0), base64.b64decode(payload), replace=True)


def migrate(settings, *args: str):
    return CliRunner().invoke(main, ["redis", "migrate", *args], env=settings_env(settings))


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "old").start()
    restore_old_layout(redis.Redis.from_url(server.url))
    yield server
    server.stop()


def read_back(client: redis.Redis, settings) -> None:
    """The moved records, read by this version's own code."""
    draft, _ = ConversationStore(client, KEYS, CONVERSATION_KEY, ttl=3600).load("o_midway")
    assert (draft.flow, draft.step) == ("bind_member", "member_name")
    # The link's own time says how old it is (Fernet): read with a long enough window, whenever this runs.
    identities = Identities(client, KEYS, CONVERSATION_KEY, days=3650)
    assert identities.get("o_midway")["masked_name"].startswith("王")
    assert client.get(KEYS.person_openid(identities.digest(person("王建国").id_number))) == b"o_midway"
    decisions = Decisions(client, KEYS)
    assert [(d.application_id, openid) for d, openid in decisions.recorded()] == [("A-waiting", "o_waiting")]
    assert "A-still" in decisions.pending_since(time.time() + 1)
    # The consumer group came along, with the entry a worker had taken and not acknowledged.
    NotificationQueue(client, settings).ensure_group()          # the group exists: nothing to create
    pending = client.xpending_range(KEYS.decisions(), "notify", min="-", max="+", count=10)
    assert [entry["consumer"] for entry in pending] == [pending[0]["consumer"]] and len(pending) == 1
    decisions.remember_submission("A-unknown", "o_late")                   # its owner, at last
    assert [(d.application_id, o) for d, o in decisions.recorded()][-1] == ("A-unknown", "o_late")
    notices = [json.loads(item)["text"] for item in client.lrange(KEYS.pending_notices("o_gone"), 0, -1)]
    assert notices == ["您为家人办理的家庭共济已通过"]
    # The notification machinery's keys, under their own names: a retry still waits, a consent holds.
    assert client.zscore(KEYS.notification_retries(), "notify-retrying") is not None
    assert client.hget(KEYS.notification("notify-retrying"), "openid") == b"o_retrying"
    assert client.hget(KEYS.subscriptions("o_subscriber"), "status:sub-approved-1") == b"accept"


def test_migrate_on_the_same_redis_renames_every_record_and_the_bot_goes_on(make_settings, old_server) -> None:
    settings = make_settings(redis={"url": old_server.url})
    client = redis.Redis.from_url(old_server.url)
    dry = migrate(settings, "--dry-run")
    assert dry.exit_code == 0 and "would move 12 keys" in dry.output, dry.output
    assert client.exists(f"{NS}:draft:o_midway") and not client.exists(KEYS.conversation("o_midway"))

    result = migrate(settings)
    assert result.exit_code == 0, result.output
    assert "moved 12 keys" in result.output
    for line in ("moved         1  draft", "moved         1  decisions stream", "skipped       5  delivery",
                 "skipped       3  limit window", "skipped       5  plaintext nonce"):
        assert line in result.output, result.output
    left = {key.decode() for key in client.scan_iter(match=f"{NS}:*")}
    assert not {key for key in left if ":draft:" in key or ":identity:" in key or ":binding:" in key
                or ":notify:pending:" in key}
    assert client.pttl(KEYS.conversation("o_midway")) > 0     # its TTL kept
    read_back(client, settings)

    # Through the webhook: the user's next message finds their draft under its new name.
    hook = Webhook(create_app(settings), WeChatSide(settings.wechat))
    draft, _ = ConversationStore(client, KEYS, CONVERSATION_KEY, ttl=3600).load("o_midway")
    answer = hook.say("你好", "o_midway").get("Content", "")
    if time.time() - draft.updated_at > settings.conversation.idle_minutes * 60:
        assert answer == RESUME_QUESTION.format(title="绑定家人"), answer
    else:
        assert "姓名" in answer, answer

    again = migrate(settings)
    assert again.exit_code == 0 and "moved 0 keys" in again.output     # run twice: nothing left to move


def test_a_new_name_already_taken_is_left_alone_and_said(make_settings, old_server) -> None:
    settings = make_settings(redis={"url": old_server.url})
    client = redis.Redis.from_url(old_server.url)
    client.set(KEYS.conversation("o_midway"), "7:a newer draft")
    result = migrate(settings)
    assert result.exit_code == 1
    assert f"kept     {KEYS.conversation('o_midway')}: the new name exists already" in result.output
    assert client.get(KEYS.conversation("o_midway")) == b"7:a newer draft" and client.exists(f"{NS}:draft:o_midway")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    started = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield started
    started.stop()


def test_migrate_from_one_redis_into_a_cluster_copies_every_record(make_settings, old_server, cluster) -> None:
    settings = make_settings(redis={"mode": "cluster", "url": cluster.url})
    refused = migrate(settings)
    assert refused.exit_code == 2 and "--from" in refused.output

    result = migrate(settings, "--from", old_server.url)
    assert result.exit_code == 0 and "moved 15 keys" in result.output, result.output
    assert "moved         3  notification machinery" in result.output
    client = connect(settings.redis)
    read_back(client, settings)
    # Spread over the masters by user, person and decisions; the source left as it was.
    assert len({cluster.master_of(key) for key in (KEYS.conversation("o_midway"), KEYS.pending_notices("o_gone"),
                                                   KEYS.decisions())}) > 1
    assert redis.Redis.from_url(old_server.url).exists(f"{NS}:draft:o_midway", f"{NS}:binding:decisions") == 2
    # Run again (after an interruption, or by mistake once the new release ran and changed things):
    # what was copied is not copied again, nor taken for a conflict; the release's changes stand.
    client.delete(KEYS.conversation("o_midway"))     # the user finished or cancelled meanwhile
    again = migrate(settings, "--from", old_server.url)
    assert again.exit_code == 0 and "moved 0 keys; 15 already there" in again.output, again.output
    assert not client.exists(KEYS.conversation("o_midway"))


def test_nothing_moves_while_a_worker_runs_and_nothing_starts_on_the_old_layout(make_settings, old_server) -> None:
    settings = make_settings(redis={"url": old_server.url})
    client = redis.Redis.from_url(old_server.url)
    client.zadd(KEYS.notification_workers(), {"host:4242": time.time()})      # a worker's fresh heartbeat
    refused = migrate(settings)
    assert refused.exit_code == 1 and "1 worker(s) running" in refused.output
    assert client.exists(f"{NS}:draft:o_midway")                              # nothing moved
    started = CliRunner().invoke(main, ["worker", "--burst"], env=settings_env(settings))
    assert started.exit_code == 2, started.output
    assert f"layout before the hash tags are still here ({NS}:binding:decisions)" in started.output
    assert migrate(settings, "--force").exit_code == 0
    assert CliRunner().invoke(main, ["worker", "--burst"], env=settings_env(settings)).exit_code == 0
