"""GET /metrics counts what happened: requests, dedupe hits, queue waits, deadlines, flows and
notifications — read back through the endpoint, on a real Redis. In one process (the Flask test
client) the counts accumulate over the session, so every test compares before and after."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.simulator.wechat_side import WeChatSide
from bot.store.server import RedisServer
from flows.texts import apologies
from handlers.reply import Text
from tests.conftest import wait_for
from tests.support.chat import CODE, idle_answer, verify_rows
from tests.support.webhook import Webhook
from tests.test_notifications import decided_application, fake, sent, work, world  # noqa: F401 - a fixture

Samples = dict[tuple[str, tuple], float]


def parse(text: str) -> Samples:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def read(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Counts:
    """/metrics now, compared with /metrics when this was made."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.before = self.scrape()

    def scrape(self) -> Samples:
        response = self.client.get("/metrics")
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain; version=")
        return parse(response.text)

    def delta(self, name: str, **labels: str) -> float:
        return read(self.scrape(), name, **labels) - read(self.before, name, **labels)


@pytest.fixture
def hook(make_settings, redis_client) -> Webhook:
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


_CLICK_TIMES = iter(range(1_700_100_000, 1_800_000_000))


def click(hook: Webhook, openid: str, key: str) -> str:
    xml = hook.side.event_xml(openid, "CLICK", key=key, create_time=next(_CLICK_TIMES))
    return hook.side.open_reply(hook.send(xml, openid).text).get("Content", "")


def say(hook: Webhook, openid: str, text: str) -> str:
    return hook.say(text, openid).get("Content", "")


# -- requests ----------------------------------------------------------------------------------
def test_three_messages_count_three_replies_and_their_latency(hook) -> None:
    counts = Counts(hook.app)
    for text in ("你好", "在吗", "帮助"):
        assert say(hook, "o_metrics", text) == idle_answer(text)
    assert counts.delta("wxbot_webhook_requests_total", outcome="reply", status="200") == 3
    assert counts.delta("wxbot_webhook_request_duration_seconds_count") == 3
    assert counts.delta("wxbot_webhook_request_duration_seconds_bucket", le="5.0") == 3
    assert counts.delta("wxbot_webhook_requests_total", outcome="success", status="200") == 0
    text = counts.client.get("/metrics").text
    assert "o_metrics" not in text  # no openid in any label


def test_a_repeated_delivery_is_a_dedupe_hit_and_gets_the_same_reply(hook) -> None:
    counts = Counts(hook.app)
    delivery = hook.side.deliver(hook.side.text_xml("o_dup", "你好", msg_id=77), "o_dup")
    first, again = hook.post(delivery), hook.post(delivery)
    assert first.text == again.text
    assert counts.delta("wxbot_webhook_dedupe_hits_total", status="done") == 1
    assert counts.delta("wxbot_webhook_requests_total", outcome="reply", status="200") == 2


def test_rejections_count_by_status_and_a_forged_body_is_a_dedupe_hit(hook) -> None:
    counts = Counts(hook.app)
    delivery = hook.side.deliver(hook.side.text_xml("o_forge", "你好", msg_id=78), "o_forge")
    assert hook.post(delivery).status_code == 200
    # Plaintext mode: the signature covers timestamp and nonce, not the body; a new body is refused.
    forged = hook.app.test_client().post(f"/wechat?{delivery.query}",
                                         data=hook.side.text_xml("o_forge", "改过的", msg_id=79),
                                         content_type="text/xml")
    assert forged.status_code == 403
    bad_signature = hook.app.test_client().post(
        f"/wechat?{delivery.query.replace('signature=', 'signature=0')}", data=delivery.body)
    assert bad_signature.status_code == 403
    assert counts.delta("wxbot_webhook_dedupe_hits_total", status="forged") == 1
    assert counts.delta("wxbot_webhook_requests_total", outcome="rejected", status="403") == 2
    assert counts.delta("wxbot_webhook_requests_total", outcome="reply", status="200") == 1


def test_a_handler_error_and_redis_down_count_as_error_and_busy(make_settings, redis_client, tmp_path) -> None:
    def broken(inbound, session):
        raise RuntimeError("a bug")

    settings = make_settings()
    failing = Webhook(create_app(settings, route=broken), WeChatSide(settings.wechat))
    counts = Counts(failing.app)
    assert failing.say("你好", "o_err")["Content"] == apologies.ERROR
    assert counts.delta("wxbot_webhook_requests_total", outcome="error", status="200") == 1

    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = make_settings(redis={"url": server.url})
        webhook = Webhook(create_app(settings, route=lambda inbound, session: Text("ok")), WeChatSide(settings.wechat))
        server.stop()
        assert webhook.say("还在吗", "o_busy")["Content"] == apologies.BUSY
    finally:
        server.cleanup()
    assert counts.delta("wxbot_webhook_requests_total", outcome="busy", status="200") == 1


def test_a_message_waiting_for_the_users_previous_one_counts_its_wait(make_settings, redis_client) -> None:
    def slow(inbound, session):
        time.sleep(0.5)
        return Text(f"好的：{inbound.field('Content')}")

    settings = make_settings()
    webhook = Webhook(create_app(settings, route=slow), WeChatSide(settings.wechat))
    counts = Counts(webhook.app)
    answers: dict[str, str] = {}

    def send(text: str, msg_id: int) -> None:
        response = webhook.send(webhook.side.text_xml("o_lock", text, msg_id=msg_id), "o_lock")
        answers[text] = webhook.side.open_reply(response.text)["Content"]

    first = threading.Thread(target=send, args=("一", 81))
    first.start()
    time.sleep(0.15)  # the first message holds the user's lock now
    send("二", 82)
    first.join()
    assert answers == {"一": "好的：一", "二": "好的：二"}
    assert counts.delta("wxbot_webhook_dedupe_hits_total", status="queued") == 0   # a new delivery, not a retry
    assert counts.delta("wxbot_user_lock_wait_seconds_count") == 1   # in the user's queue
    assert counts.delta("wxbot_user_lock_wait_seconds_sum") >= 0.2
    wait_for(lambda: counts.delta("wxbot_webhook_handlers_busy") == 0, timeout=5)  # both handlers are done


def test_messages_over_the_users_rate_are_counted_as_limited(make_settings, redis_client) -> None:
    settings = make_settings(webhook={"user_rate_limit": 2})
    webhook = Webhook(create_app(settings, route=lambda inbound, session: Text("好的")), WeChatSide(settings.wechat))
    counts = Counts(webhook.app)
    answers = [webhook.say(text, "o_fast")["Content"] for text in ("一", "二", "三")]
    assert answers[:2] == ["好的", "好的"] and answers[2].startswith("您发送得太快了")
    assert counts.delta("wxbot_user_messages_limited_total", reason="rate") == 1
    assert counts.delta("wxbot_webhook_requests_total", outcome="limited", status="200") == 1


def test_deadline_fallbacks_and_late_replies_sent_or_parked(make_settings, fake_wechat, redis_client) -> None:
    def slow(inbound, session):
        time.sleep(1.3)
        return Text("慢慢来的回答")

    settings = make_settings(webhook={"reply_deadline": 1.0}, wechat={"api_base_url": fake_wechat.url})
    webhook = Webhook(create_app(settings, route=slow), WeChatSide(settings.wechat))
    counts = Counts(webhook.app)
    # WeChat accepts customer-service messages to a user who wrote within 48 hours, not to others.
    requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o_late"}, timeout=5)
    assert webhook.send(webhook.side.text_xml("o_late", "查进度", msg_id=91), "o_late").text == "success"
    assert webhook.send(webhook.side.text_xml("o_closed", "查进度", msg_id=92), "o_closed").text == "success"
    assert counts.delta("wxbot_webhook_deadline_fallbacks_total") == 2
    assert counts.delta("wxbot_webhook_requests_total", outcome="success", status="200") == 2
    wait_for(lambda: counts.delta("wxbot_webhook_late_replies_total", result="sent") == 1, timeout=5)
    # Refused for the window (45015): kept for the user's next reply.
    wait_for(lambda: counts.delta("wxbot_webhook_late_replies_total", result="parked") == 1, timeout=5)


# -- flows -------------------------------------------------------------------------------------
def test_a_cancelled_flow_counts_an_abandonment_at_its_step(hook) -> None:
    counts = Counts(hook.app)
    assert "姓名" in click(hook, "o_cancel", "BIND_MEMBER")  # verification first
    assert "身份证号码" in say(hook, "o_cancel", "王建国")
    say(hook, "o_cancel", "取消")
    assert "已取消" in say(hook, "o_cancel", "是")
    assert counts.delta("wxbot_flow_starts_total", flow="verify") == 1
    assert counts.delta("wxbot_flow_abandonments_total", flow="verify", step="id_number", reason="cancel") == 1
    assert counts.delta("wxbot_flow_completions_total", flow="verify", step="done") == 0


def test_switching_wrong_answers_and_completing(hook) -> None:
    counts = Counts(hook.app)
    user = "o_journey"
    click(hook, user, "BIND_MEMBER")
    # Nothing typed yet: the verification for 绑定家人 is dropped for the one 我的家人 needs.
    assert "姓名" in click(hook, user, "MY_FAMILY")
    assert counts.delta("wxbot_flow_abandonments_total", flow="verify", step="name", reason="switch") == 1
    say(hook, user, "王建国")
    for wrong in ("123", "456", "789"):
        say(hook, user, wrong)
    assert counts.delta("wxbot_flow_way_out_offers_total", flow="verify", step="id_number") == 1
    [_, (id_number, expected)] = verify_rows("王建国")
    assert expected in say(hook, user, id_number)
    say(hook, user, CODE)  # verified, and 我的家人 answers at once
    assert counts.delta("wxbot_flow_starts_total", flow="verify") == 2
    assert counts.delta("wxbot_flow_completions_total", flow="verify", step="done") == 1
    assert counts.delta("wxbot_flow_starts_total", flow="my_family") == 1
    assert counts.delta("wxbot_flow_completions_total", flow="my_family", step="list") == 1
    assert counts.delta("wxbot_flow_abandonments_total", flow="verify", step="id_number", reason="cancel") == 0


def test_a_restart_abandons_the_run_and_starts_another(hook) -> None:
    counts = Counts(hook.app)
    click(hook, "o_restart", "BIND_MEMBER")
    say(hook, "o_restart", "王建国")
    say(hook, "o_restart", "重新开始")
    assert "姓名" in say(hook, "o_restart", "是")
    assert counts.delta("wxbot_flow_abandonments_total", flow="verify", step="id_number", reason="restart") == 1
    assert counts.delta("wxbot_flow_starts_total", flow="verify") == 2


# -- notifications -----------------------------------------------------------------------------
def test_notification_outcomes_sent_retried_dead_lettered_and_reported(world) -> None:  # noqa: F811 - `world`, the imported fixture
    settings, app, fake_wechat = world  # notifications.max_attempts = 3
    counts = Counts(app)
    decided_application(app, openid="o_sent", initiator="王建国")
    work(settings)
    [message] = sent(fake_wechat)
    assert counts.delta("wxbot_notification_sends_total", outcome="sent") == 1

    decided_application(app, openid="o_dead", initiator="周强")
    fake(fake_wechat, "fail", [{"status": 502, "path": "template"}] * 3)
    work(settings)
    assert len(sent(fake_wechat)) == 1
    assert counts.delta("wxbot_notification_sends_total", outcome="retry") == 2
    assert counts.delta("wxbot_notification_sends_total", outcome="dead_letter") == 1
    assert counts.delta("wxbot_notification_failures_total", cause="http") == 3

    side = WeChatSide(settings.wechat)
    for msgid, status in ((message["msgid"], "success"), (message["msgid"], "failed:user block"), (999, "success")):
        xml = side.event_xml("o_sent", "TEMPLATESENDJOBFINISH", create_time=next(_CLICK_TIMES)).replace(
            "</xml>", f"<MsgID>{msgid}</MsgID><Status><![CDATA[{status}]]></Status></xml>")
        delivery = side.deliver(xml, "o_sent")
        assert app.test_client().post(f"/wechat?{delivery.query}", data=delivery.body).text == "success"
    assert counts.delta("wxbot_notification_reports_total", status="delivered") == 1
    assert counts.delta("wxbot_notification_reports_total", status="delivery_failed") == 1
    assert counts.delta("wxbot_notification_reports_total", status="unmatched") == 1
