"""The product on a real Redis Cluster (issue 16, point 2): `wxbot serve` and `wxbot worker` with
`mode = "cluster"` on three masters, each with a replica, started from the embedded redis-server;
the bureau is the sandbox behind the HTTP adapter, on a plain Redis of its own. A whole binding
through /wechat to the approval card; WeChat's retries still one effect; a master killed
mid-binding — its replica promoted, the user's next message goes on with the draft, nothing
doubled; and what the cluster's asynchronous replication lost when a master was killed under
writes, measured."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.store.client import connect
from tests.conftest import wait_for
from tests.support.cluster import LocalCluster
from tests.support.stack import Stack, bind_rows, families, timed, verify_rows


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    started = LocalCluster(tmp_path_factory.mktemp("cluster"), node_timeout_ms=1000).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def stack(make_settings, tmp_path_factory, cluster) -> Iterator[Stack]:
    started = Stack(tmp_path_factory.mktemp("stack"), make_settings, families(4), cluster=cluster).start()
    yield started
    started.stop()


def to_summary(user, family) -> None:
    user.play(verify_rows(family) + bind_rows(family))
    assert "承诺书" in user.image("media-hukou")
    user.play([("同意", "请核对")])


def one_card(stack: Stack, openid: str) -> dict:
    """The user's approval card: exactly one, also a while after it came."""
    wait_for(lambda: stack.sent(openid, "template"), timeout=30)
    time.sleep(1.5)   # a second send would come within the worker's next rounds
    [card] = stack.sent(openid, "template")
    return card


def test_a_binding_on_a_cluster_delivers_one_approval_card_and_retries_are_one_effect(stack, cluster) -> None:
    family, user = stack.people[0], stack.user("o_cluster_bind")
    to_summary(user, family)
    # 确认 as WeChat delivers it when the reply is slow: the same message three times at once.
    xml = user.side.text_xml(user.openid, "确认", msg_id=880001)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: user.side.post(stack.url, user.side.deliver(xml, user.openid)), range(3)))
    bodies = {user.side.open_reply(a.text).get("Content", "") if a.text != "success" else "success" for a in answers}
    assert all(a.status_code == 200 for a in answers) and len(bodies - {"success"}) == 1, bodies
    assert "办理成功" in (bodies - {"success"}).pop()
    assert len(stack.applications(family)) == 1
    card = one_card(stack, user.openid)
    assert card["template_id"] == "TPL_BINDING_APPROVED"
    # The records really are spread: this user's, the decisions' and the notifications' slots.
    owners = {cluster.master_of(key) for key in (stack.keys.conversation(user.openid), stack.keys.decisions(),
                                                 stack.keys.notification_retries(),
                                                 stack.keys.conversation("o_cluster_failover"))}
    assert len(owners) > 1


def test_the_operators_find_a_user_from_the_logs_on_every_master(stack, cluster) -> None:
    """`wxbot conversation show <user_ref>` scans the users' drafts: on a cluster, every master's."""
    from click.testing import CliRunner

    from bot.cli import main
    from bot.logs import configure_for, user_ref

    users = [stack.user(f"o_cluster_ops_{n}") for n in range(6)]
    for user in users:
        user.say("绑定家人")
    drafts = [stack.keys.conversation(user.openid) for user in users]
    assert len({cluster.master_of(key) for key in drafts}) > 1      # spread over the masters
    configure_for(stack.settings)
    for user in users:
        result = CliRunner().invoke(main, ["conversation", "show", user_ref(user.openid)], env=stack.env)
        assert result.exit_code == 0 and f"user_ref   {user_ref(user.openid)}" in result.output, result.output


def test_a_master_killed_mid_binding_its_replica_goes_on_with_the_draft(stack, cluster) -> None:
    family, user = stack.people[1], stack.user("o_cluster_failover")
    user.play(verify_rows(family) + [("孙女", "姓名"), (family.child.name, "证件号码")])
    draft = stack.keys.conversation(user.openid)
    dead = cluster.master_of(draft)
    started = time.monotonic()
    cluster.kill(dead)
    promoted = cluster.await_failover(draft, dead)
    failover = time.monotonic() - started

    # The next message: the ID number, taken at the ID step — the draft survived on the replica.
    reply, first = timed(lambda: user.say(family.child.id_number))
    busy = 0
    while "系统繁忙" in reply and time.monotonic() - started < 20:   # the client still learning the new master
        busy += 1
        time.sleep(0.5)
        reply = user.say(family.child.id_number)
    assert "户口本" in reply, reply
    assert "承诺书" in user.image("media-hukou")
    assert "办理成功" in user.play([("同意", "请核对"), ("确认", "办理成功")])[-1]
    assert len(stack.applications(family)) == 1
    one_card(stack, user.openid)
    assert promoted != dead
    print(f"\ncluster failover: master :{dead} killed, replica :{promoted} serving its slots after {failover:.2f}s; "
          f"first reply after it {first:.3f}s, {busy} 系统繁忙 before the step was taken")


def test_what_a_master_killed_under_writes_loses(stack, cluster) -> None:
    """Asynchronous replication: a master answers a write before its replica has it. One writer
    sets keys in one master's slots as fast as it can; the master is killed; after the failover,
    which acknowledged writes are gone? Everything acknowledged well before the kill survives."""
    client = connect(stack.settings.redis)
    tag = "{loss-probe}"
    dead = cluster.master_of(tag)
    acknowledged: list[tuple[int, float]] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            try:
                client.set(f"{tag}:{n}", n, ex=600)
                acknowledged.append((n, time.monotonic()))
            except Exception:  # noqa: BLE001 - the master is gone: keep trying until the replica serves
                time.sleep(0.05)
            n += 1

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    wait_for(lambda: len(acknowledged) > 2000, timeout=30)
    killed_at = time.monotonic()
    cluster.kill(dead)
    cluster.await_failover(tag, dead)
    wait_for(lambda: acknowledged[-1][1] > time.monotonic() - 0.5, timeout=20)   # writing again
    stop.set()
    writer.join(10)

    before = [(n, at) for n, at in acknowledged if at < killed_at]
    present = client.mget([f"{tag}:{n}" for n, _ in before])
    lost = [(n, at) for (n, at), value in zip(before, present, strict=True) if value is None]
    assert all(killed_at - at < 1.0 for _, at in lost), lost[:5]   # only the last moment's writes, if any
    after = [(n, at) for n, at in acknowledged if at > killed_at]
    assert after and all(value is not None for value in client.mget([f"{tag}:{n}" for n, _ in after]))
    window = max((killed_at - at for _, at in lost), default=0.0)
    print(f"\nreplication loss: {len(before)} writes acknowledged by the master before SIGKILL, {len(lost)} missing "
          f"after its replica took over (the last {window * 1000:.1f} ms)")
