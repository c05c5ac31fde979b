"""Every decision reaches its user exactly once, as a template message — through the real
callback, the decisions stream, the worker's sender threads and the fake WeChat API, on a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from bot.app import create_app
from bot.binding.factory import signing_key
from bot.binding.models import ApplicationRequest, ConsentAnswer, Decision
from bot.binding.signing import sign
from bot.notify.queue import NotificationQueue, notification_id
from bot.notify.records import NotificationRecords
from bot.notify.runtime import pooled_session
from bot.notify.worker import Worker
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from flows.domain.relationships import Relationship
from tests.conftest import wait_for
from tests.support.binding import person
from tests.support.processes import settings_env
from tests.test_binding_contract import CODE, verified

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def world(make_settings, fake_wechat, redis_client):
    settings = make_settings(
        wechat={"api_base_url": fake_wechat.url},
        binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
        notifications={"max_attempts": 3, "retry_intervals": [0]})
    app = create_app(settings)
    yield settings, app, fake_wechat


def sent(fake_wechat) -> list[dict]:
    return [m for m in requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json() if m["kind"] == "template"]


def fake(fake_wechat, path: str, body) -> None:
    requests.post(f"{fake_wechat.url}/fake/{path}", json=body, timeout=5).raise_for_status()


def decided_application(app, openid: str = "o_grandpa", approve: bool = True, initiator: str = "王建国") -> str:
    """A grandchild application submitted by `openid`, decided by the sandbox's reviewer, and the
    decision delivered to the bot through the signed callback."""
    bot = app.extensions["wxbot"]
    sandbox = bot.binding
    child = person("王朵朵")
    application = sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, initiator), member_name=child.name, member_id_number=child.id_number,
        relationship=Relationship.GRANDCHILD, pledge_accepted=True, proof_media_ids=["m"],
        idempotency_key=uuid.uuid4().hex))
    bot.decisions.remember_submission(application.application_id, openid)
    sandbox.decide(application.application_id, approve=approve, reason=None if approve else "proof_rejected")
    deliver_callbacks(app)
    return application.application_id


def deliver_callbacks(app) -> None:
    bot = app.extensions["wxbot"]
    outbox = bot.binding.outbox()
    for decision in outbox.claim_due():
        body = decision.model_dump_json().encode()
        response = app.test_client().post("/binding/callback", data=body,
                                          headers=sign(signing_key(bot.settings), "POST", "/binding/callback", body))
        assert response.status_code == 200
        outbox.done(decision)


def work(settings) -> None:
    """What `wxbot worker --burst` does, in this process: send until nothing waits (retries due now
    included)."""
    Worker(settings).run(burst=True)


def test_an_approval_sends_exactly_one_template_message_with_the_right_fields(world) -> None:
    settings, app, fake_wechat = world
    decided_application(app)
    work(settings)
    [message] = sent(fake_wechat)
    assert message["touser"] == "o_grandpa"
    assert message["template_id"] == "TPL_BINDING_APPROVED"
    assert message["data"]["thing1"] == {"value": "王**"}
    assert message["data"]["thing2"] == {"value": "孙子女/外孙子女"}
    assert message["data"]["phrase3"] == {"value": "已通过"}
    assert all(len(item["value"]) <= 20 and "\n" not in item["value"] for item in message["data"].values())
    assert message["client_msg_id"]
    work(settings)  # nothing new: still one
    assert len(sent(fake_wechat)) == 1


def test_a_rejection_carries_its_reason(world) -> None:
    settings, app, fake_wechat = world
    decided_application(app, approve=False)
    work(settings)
    [message] = sent(fake_wechat)
    assert message["template_id"] == "TPL_BINDING_REJECTED"
    assert message["data"]["thing3"] == {"value": "证明材料未通过审核"}


def test_a_repeated_callback_still_sends_one(world) -> None:
    settings, app, fake_wechat = world
    application_id = decided_application(app)
    bot = app.extensions["wxbot"]
    again = Decision(event_id="retry-1", kind="application.decided", application_id=application_id,
                     binding_id=bot.binding.application(application_id).binding_id, status="approved",
                     decided_at="2026-11-22T08:00:00Z")
    body = again.model_dump_json().encode()
    app.test_client().post("/binding/callback", data=body,
                           headers=sign(signing_key(settings), "POST", "/binding/callback", body))
    work(settings)
    assert len(sent(fake_wechat)) == 1


def test_a_forged_approval_reaches_nobody_and_the_true_one_reaches_the_user_once(world) -> None:
    settings, app, fake_wechat = world
    bot = app.extensions["wxbot"]
    sandbox, wife = bot.binding, person("李秀英")
    application = sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, "王建国"), member_name=wife.name, member_id_number=wife.id_number,
        relationship=Relationship.SPOUSE, pledge_accepted=True, idempotency_key=uuid.uuid4().hex))
    bot.decisions.remember_submission(application.application_id, "o_grandpa")
    forged = Decision(event_id="forged-1", kind="application.decided", application_id=application.application_id,
                      status="approved", decided_at="2026-11-22T08:00:00Z")   # the bureau waits for consent
    body = forged.model_dump_json().encode()
    response = app.test_client().post("/binding/callback", data=body,
                                      headers=sign(signing_key(settings), "POST", "/binding/callback", body))
    assert response.status_code == 422
    work(settings)
    assert sent(fake_wechat) == []
    assert bot.redis.keys(bot.keys.notification("*")) == []

    sandbox.answer_consent(application.consent.code,
                           ConsentAnswer(person_id=verified(sandbox, "李秀英"), agree=True))
    sandbox.decide(application.application_id, approve=True)
    deliver_callbacks(app)
    work(settings)
    [message] = sent(fake_wechat)
    assert (message["touser"], message["template_id"]) == ("o_grandpa", "TPL_BINDING_APPROVED")


def test_nothing_is_lost_while_no_worker_runs(world) -> None:
    settings, app, fake_wechat = world
    decided_application(app, openid="o_a", initiator="王建国")
    decided_application(app, openid="o_b", initiator="周强")
    assert sent(fake_wechat) == []  # no worker yet
    work(settings)
    assert sorted(m["touser"] for m in sent(fake_wechat)) == ["o_a", "o_b"]


def test_wechat_api_down_is_retried_then_delivered(world) -> None:
    settings, app, fake_wechat = world
    decided_application(app)
    fake(fake_wechat, "fail", [{"status": 502, "path": "template"}, {"errcode": -1, "path": "template"}])   # busy
    work(settings)
    [message] = sent(fake_wechat)
    records = app.extensions["wxbot"].processor.route.notifications
    assert records.get(message["client_msg_id"])["attempts"] == "3"


def test_dead_letter_is_listed_and_retried_from_the_cli(world, redis_server) -> None:
    settings, app, fake_wechat = world
    decided_application(app)
    fake(fake_wechat, "fail", [{"status": 502, "path": "template"}] * 3)
    work(settings)
    assert sent(fake_wechat) == []
    env = {**os.environ, **settings_env(settings)}

    def wxbot(*args: str, code: int = 0) -> str:
        result = subprocess.run([sys.executable, "-m", "bot.cli", "notify", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == code, result.stderr
        return result.stdout + result.stderr

    listing = wxbot("dead")
    assert "1 dead" in listing and "attempts 3" in listing and "HTTP 502" in listing
    unknown = wxbot("retry", "notify-nope", code=1)
    assert "not dead notifications" in unknown and "Traceback" not in unknown
    assert "requeued notify-" in wxbot("retry", "--all")
    # A retried dead letter gets all its attempts again: two more failures, then sent.
    fake(fake_wechat, "fail", [{"status": 502, "path": "template"}] * 2)
    work(settings)
    assert len(sent(fake_wechat)) == 1
    assert "0 dead" in wxbot("dead")


def test_a_user_who_unfollowed_gets_the_news_with_their_next_reply(world) -> None:
    settings, app, fake_wechat = world
    fake(fake_wechat, "unfollow", {"openid": "o_grandpa"})
    decided_application(app)
    work(settings)
    assert sent(fake_wechat) == []
    side = WeChatSide(settings.wechat)
    client = app.test_client()

    def say(text: str) -> str:
        delivery = side.deliver(side.text_xml("o_grandpa", text), "o_grandpa")
        return side.open_reply(client.post(f"/wechat?{delivery.query}", data=delivery.body).text)["Content"]

    first = say("你好")
    assert first.startswith("【办理结果】您为孙子女/外孙子女 王** 办理的家庭共济已通过")
    assert "绑定家人" in first  # followed by the usual answer
    assert not say("你好").startswith("【办理结果】")  # shown once


def test_delivery_report_updates_the_record(world) -> None:
    settings, app, fake_wechat = world
    decided_application(app)
    work(settings)
    [message] = sent(fake_wechat)
    side = WeChatSide(settings.wechat)
    xml = side.event_xml("o_grandpa", "TEMPLATESENDJOBFINISH").replace(
        "</xml>", f"<MsgID>{message['msgid']}</MsgID><Status><![CDATA[failed:user block]]></Status></xml>")
    delivery = side.deliver(xml, "o_grandpa")
    assert app.test_client().post(f"/wechat?{delivery.query}", data=delivery.body).text == "success"
    records = app.extensions["wxbot"].processor.route.notifications
    notification_id = app.extensions["wxbot"].redis.get(records.keys.notification_by_msgid(str(message["msgid"])))
    assert records.get(notification_id.decode())["status"] == "delivery_failed"


def test_an_automatic_termination_is_notified_too(world) -> None:
    settings, app, fake_wechat = world
    application_id = decided_application(app)
    sandbox = app.extensions["wxbot"].binding
    sandbox.terminate(sandbox.application(application_id).binding_id)
    deliver_callbacks(app)
    work(settings)
    ended = [m for m in sent(fake_wechat) if m["template_id"] == "TPL_BINDING_ENDED"]
    assert [m["data"]["thing3"]["value"] for m in ended] == ["参保状态变化自动解除"]
    assert len(sent(fake_wechat)) == 2


def test_the_worker_logs_like_the_webhook_same_user_ref_no_openid(world, capfd) -> None:
    from bot.config import LogSettings
    from bot.logs import configure, configure_for, user_ref
    from bot.notify.worker import run_worker

    settings, app, fake_wechat = world
    decided_application(app)
    configure_for(settings)
    webhooks_ref = user_ref("o_grandpa")
    configure(LogSettings(), salt="")   # as a fresh `wxbot worker` process starts
    capfd.readouterr()
    run_worker(settings, burst=True)
    logged = "".join(capfd.readouterr())
    assert len(sent(fake_wechat)) == 1
    assert "notification_sent" in logged and f"user_ref={webhooks_ref}" in logged   # [log] format: console
    assert "o_grandpa" not in logged


# -- the machinery: workers racing, a dead worker's entries, retries waiting -------------------------

def record_decisions(app, count: int, prefix: str) -> list[str]:
    """`count` decisions of one application, each for its own user: the openids."""
    bot = app.extensions["wxbot"]
    application_id = decided_application(app, openid=f"{prefix}_owner")
    openids = [f"{prefix}_{n}" for n in range(count)]
    for n, openid in enumerate(openids):
        assert bot.decisions.record(Decision(
            event_id=f"{prefix}-{n}", kind="application.decided", application_id=application_id,
            binding_id=f"{prefix}-{n}", status="approved", decided_at="2026-11-22T08:00:00Z"), openid=openid)
    return openids


def pending_entries(app) -> int:
    bot = app.extensions["wxbot"]
    return bot.redis.xpending(bot.keys.decisions(), "notify")["pending"]


def test_two_workers_racing_send_every_notification_once_retries_included(world) -> None:
    settings, app, fake_wechat = world
    openids = record_decisions(app, 60, "o_race")
    # Every fourth send fails at first: its retry (due at once) is raced for too.
    fake(fake_wechat, "fail", [{"status": 502, "path": "template"}] * 15)
    workers = [Worker(settings, name=f"racer:{n}") for n in range(2)]
    threads = [threading.Thread(target=worker.run, kwargs={"burst": True}) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    work(settings)   # whatever the first two left due

    by_user = Counter(m["touser"] for m in sent(fake_wechat))
    assert {openid: by_user[openid] for openid in openids} == dict.fromkeys(openids, 1)
    bot = app.extensions["wxbot"]
    assert pending_entries(app) == 0
    assert bot.redis.zcard(bot.keys.notification_retries()) == 0
    assert bot.redis.zcard(bot.keys.notification_dead()) == 0
    assert bot.redis.keys(bot.keys.notification_claim("*")) == []


def test_entries_a_dead_worker_took_are_taken_over_after_reclaim_after(make_settings, fake_wechat, redis_client) -> None:
    settings = make_settings(wechat={"api_base_url": fake_wechat.url},
                             binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
                             notifications={"reclaim_after": 2})
    app = create_app(settings)
    [openid] = record_decisions(app, 1, "o_orphan")
    # A worker takes its entries and starts sending one, then dies: nothing acknowledged, a claim held.
    dead = NotificationQueue(redis_client, settings, consumer="gone:1")
    taken = dead.read(10, None)
    assert len(taken) == 2
    for entry_id, fields in taken:
        assert dead.begin(notification_id(entry_id), True, fields[b"openid"].decode(),
                          fields[b"decision"].decode()).outcome == "go"

    work(settings)               # too soon: the entries are held, the claims leased
    assert sent(fake_wechat) == [] and pending_entries(app) == 2
    time.sleep(2.2)              # reclaim_after
    work(settings)
    assert sorted(m["touser"] for m in sent(fake_wechat)) == sorted([openid, "o_orphan_owner"])
    assert pending_entries(app) == 0
    records = NotificationRecords(redis_client, Keys.of(settings))
    assert [records.get(notification_id(entry_id))["attempts"] for entry_id, _ in taken] == ["2", "2"]


def test_a_retry_waits_its_interval_in_the_delayed_set_and_is_taken_once(make_settings, fake_wechat,
                                                                         redis_client) -> None:
    settings = make_settings(wechat={"api_base_url": fake_wechat.url},
                             binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
                             notifications={"max_attempts": 3, "retry_intervals": [30]})
    app = create_app(settings)
    fake(fake_wechat, "fail", [{"errcode": -1, "path": "template"}])   # WeChat busy
    decided_application(app)
    work(settings)
    assert sent(fake_wechat) == [] and pending_entries(app) == 0   # acknowledged: its retry is scheduled
    keys = Keys.of(settings)
    [(notification, due)] = redis_client.zrange(keys.notification_retries(), 0, -1, withscores=True)
    assert 25 < due - time.time() <= 30
    assert NotificationRecords(redis_client, keys).get(notification.decode())["last_error"] == "-1: WeChat is busy"

    redis_client.zadd(keys.notification_retries(), {notification: time.time()})   # as if 30 s had passed
    one, other = NotificationQueue(redis_client, settings), NotificationQueue(redis_client, settings)
    assert one.due(10) == [notification.decode()] and other.due(10) == []   # leased to the first
    one.due_again([notification.decode()])
    work(settings)
    [message] = sent(fake_wechat)
    assert message["client_msg_id"] == notification.decode()
    assert redis_client.zcard(keys.notification_retries()) == 0


def test_a_stopped_worker_leaves_no_heartbeat_and_a_running_one_beats(world) -> None:
    settings, app, _ = world
    bot = app.extensions["wxbot"]
    worker = Worker(settings, name="beating:1")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: bot.redis.zscore(bot.keys.notification_workers(), "beating:1") is not None, timeout=10)
    finally:
        worker.stop.set()
        thread.join(10)
    assert bot.redis.zscore(bot.keys.notification_workers(), "beating:1") is None


def test_the_workers_http_session_keeps_a_connection_per_sender_and_reads_proxies_as_requests_does(
        monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    session, plain = pooled_session(32), requests.Session()
    assert session.get_adapter("https://api.weixin.qq.com").poolmanager.connection_pool_kw["maxsize"] == 32
    for url in ("https://api.weixin.qq.com/cgi-bin/message/template/send", "http://127.0.0.1:8081/cgi-bin/x"):
        assert (session.merge_environment_settings(url, {}, None, None, None)
                == plain.merge_environment_settings(url, {}, None, None, None))
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere:1")   # read once: a worker's environment does not change
    assert session.merge_environment_settings("https://api.weixin.qq.com/x", {}, None, None, None)["proxies"][
        "https"] == "http://proxy.example:3128"


def test_a_holder_whose_claim_ran_out_cannot_undo_what_the_next_one_settled(make_settings, redis_client) -> None:
    """A send slower than `reclaim_after`: its claim ran out, another attempt took the notification
    over and sent it. The first holder's failure (or parking) arriving afterwards changes nothing:
    the notification stays sent, never a dead letter that `wxbot notify retry` would send again."""
    settings = make_settings()
    queue, keys = NotificationQueue(redis_client, settings), Keys.of(settings)
    nid = f"notify-stale-{uuid.uuid4().hex[:8]}"
    first = queue.begin(nid, True, "o_stale", '{"x": 1}')
    redis_client.delete(keys.notification_claim(nid))            # its lease ran out mid-call
    second = queue.begin(nid, False)
    assert (first.outcome, second.outcome) == ("go", "go")
    queue.sent(nid, second.token, "msg-1")
    queue.failed(nid, first.token, "ReadTimeout", final=True, retry_in=0)
    queue.parked(nid, first.token)
    record = NotificationRecords(redis_client, keys).get(nid)
    assert record["status"] == "sent" and nid not in queue.dead()
