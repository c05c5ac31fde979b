"""Late answers are never lost: an answer after WeChat's deadline goes out as a customer-service
message through the notification machinery — recorded, then sent at once by the webhook, retried
by the worker, a dead letter with its reason, shown with the user's next reply when WeChat refuses
it for the window or the count — and is sent once. Through the real webhook, the real worker and
the fake WeChat API, on a real Redis."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bot.app import create_app
from bot.binding.factory import sandbox_service
from bot.notify.late import KIND, late_id
from bot.notify.queue import NotificationQueue
from bot.notify.records import NotificationRecords
from bot.notify.sealed import Seal
from bot.notify.worker import Worker
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from flows.texts import notifications as t
from handlers.reply import Text
from tests.conftest import wait_for
from tests.support.binding import person
from tests.support.chat import CODE
from tests.support.webhook import Webhook

DEADLINE = 1.0
CUSTOM_SEND = "/cgi-bin/message/custom/send"


class SlowRoute:
    """A handler that misses the deadline; it remembers the deliveries it answered."""

    def __init__(self, delay: float) -> None:
        self.delay, self.deliveries = delay, []

    def __call__(self, inbound, session):
        self.deliveries.append((inbound.openid, inbound.delivery_id))
        time.sleep(self.delay)
        return Text(f"慢慢来的回答：{inbound.field('Content')}")


class SlowBureau:
    """The sandbox bureau, `seconds` slower to start a verification (send the SMS code)."""

    def __init__(self, sandbox, seconds: float) -> None:
        self.sandbox, self.seconds = sandbox, seconds

    def __getattr__(self, name: str):
        return getattr(self.sandbox, name)

    def start_verification(self, body):
        time.sleep(self.seconds)
        return self.sandbox.start_verification(body)


@pytest.fixture
def late_world(make_settings, fake_wechat, redis_client):
    """A webhook whose handler misses the deadline (route: SlowRoute), and what to look at."""
    def build(reclaim_after: int = 60, **notifications):
        settings = make_settings(webhook={"reply_deadline": DEADLINE}, wechat={"api_base_url": fake_wechat.url},
                                 notifications={"max_attempts": 3, "retry_intervals": [0],
                                                "reclaim_after": reclaim_after, **notifications})
        route = SlowRoute(DEADLINE + 0.4)
        return settings, route, Webhook(create_app(settings, route=route), WeChatSide(settings.wechat))
    return build


def fake(fake_wechat, path: str, body) -> None:
    requests.post(f"{fake_wechat.url}/fake/{path}", json=body, timeout=5).raise_for_status()


def custom_messages(fake_wechat) -> list[dict]:
    return [m for m in requests.get(f"{fake_wechat.url}/fake/sent", timeout=5).json() if m["kind"] == "custom"]


def custom_calls(fake_wechat) -> int:
    return requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["calls"].get(CUSTOM_SEND, 0)


def record_of(settings, redis_client, route: SlowRoute, n: int = 0) -> tuple[str, dict | None]:
    """The late answer to the route's n-th delivery: its id and record."""
    keys = Keys.of(settings)
    notification_id = late_id(keys.delivery(*route.deliveries[n]))
    return notification_id, NotificationRecords(redis_client, keys).get(notification_id)


def late(webhook: Webhook, text: str, openid: str = "o_late", msg_id: int = 71) -> None:
    """The user writes `text`; the handler misses the deadline: WeChat gets `success`."""
    assert webhook.send(webhook.side.text_xml(openid, text, msg_id=msg_id), openid).text == "success"


def work(settings) -> None:
    Worker(settings).run(burst=True)


# -- refused for the window or the count: shown with the next reply ------------------------------

@pytest.mark.parametrize("refusal", [45015, 45047])
def test_a_late_answer_wechat_refuses_for_the_window_is_shown_with_the_users_next_reply(
        make_settings, fake_wechat, redis_client, refusal) -> None:
    """The real conversation: the bureau takes 1.5 s to send the SMS code, the request answers
    `success`, and WeChat refuses the customer-service message — its window closed (45015: the fake
    knows of no message from the user) or its sends used up (45047). The answer is kept, sealed,
    and comes first in the reply to the user's next message, once."""
    settings = make_settings(webhook={"reply_deadline": DEADLINE, "user_rate_limit": 100},
                             wechat={"api_base_url": fake_wechat.url},
                             binding={"sandbox": {"verification_code": CODE}})
    bureau = SlowBureau(sandbox_service(settings, redis_client), DEADLINE + 0.5)
    webhook = Webhook(create_app(settings, binding=bureau), WeChatSide(settings.wechat))
    keys, who = Keys.of(settings), person("王建国")
    if refusal == 45047:
        fake(fake_wechat, "interact", {"openid": "o_grandpa"})
        fake(fake_wechat, "fail", [{"errcode": 45047, "path": "custom", "errmsg": "out of response count limit"}])
    assert "姓名" in webhook.say("绑定家人", "o_grandpa")["Content"]
    assert "身份证号码" in webhook.say(who.name, "o_grandpa")["Content"]
    assert webhook.send(webhook.side.text_xml("o_grandpa", who.id_number), "o_grandpa").text == "success"

    wait_for(lambda: redis_client.llen(keys.pending_notices("o_grandpa")) == 1, timeout=10)
    assert custom_messages(fake_wechat) == [] and custom_calls(fake_wechat) == 1
    [kept] = redis_client.lrange(keys.pending_notices("o_grandpa"), 0, -1)
    assert "验证码".encode() not in kept and b"sealed" in kept                 # encrypted at rest

    reply = webhook.say(CODE, "o_grandpa")["Content"]
    earlier, _, now = reply.partition("\n\n")
    assert earlier.startswith(t.LATE_ANSWER.format(answer="")) and "验证码已发送到您在医保登记的手机" in earlier
    assert now and "验证码已发送" not in now                                   # the code's own answer follows
    assert "验证码已发送" not in webhook.say("你好", "o_grandpa")["Content"]  # shown once
    assert custom_calls(fake_wechat) == 1                                   # and never sent after all


def test_a_late_answer_sent_at_once_leaves_nothing_for_the_next_reply(late_world, fake_wechat, redis_client) -> None:
    """No worker runs: the webhook's own first attempt sends it, as soon as the handler is done."""
    settings, route, webhook = late_world()
    fake(fake_wechat, "interact", {"openid": "o_late"})
    started = time.time()
    late(webhook, "查进度")
    [message] = wait_for(lambda: custom_messages(fake_wechat), timeout=5)
    assert message["text"]["content"] == "慢慢来的回答：查进度"
    assert message["at"] - started < route.delay + 0.5
    notification_id, record = record_of(settings, redis_client, route)
    assert (record["kind"], record["status"], record["attempts"]) == (KIND, "sent", "1")
    assert "text" not in record                                  # the answer is not kept once sent
    assert redis_client.zscore(Keys.of(settings).notification_retries(), notification_id) is None


# -- transient errors: retried by the worker, delivered once --------------------------------------

def test_a_late_answer_met_by_a_5xx_is_retried_by_the_worker_and_delivered_once(late_world, fake_wechat,
                                                                                 redis_client, capfd) -> None:
    settings, route, webhook = late_world()
    fake(fake_wechat, "interact", {"openid": "o_late"})
    fake(fake_wechat, "fail", [{"status": 503, "path": "custom"}])
    late(webhook, "查进度")
    wait_for(lambda: route.deliveries and (record_of(settings, redis_client, route)[1] or {}).get("last_error"),
             timeout=5)
    notification_id, record = record_of(settings, redis_client, route)
    assert (record["status"], record["attempts"], record["last_error"]) == ("queued", "1", "HTTP 503")
    assert "慢慢来" not in record["text"]                         # sealed
    assert custom_messages(fake_wechat) == []

    work(settings)
    [message] = custom_messages(fake_wechat)
    assert (message["touser"], message["text"]["content"]) == ("o_late", "慢慢来的回答：查进度")
    _, record = record_of(settings, redis_client, route)
    assert (record["status"], record["attempts"]) == ("sent", "2")
    work(settings)
    late(webhook, "查进度")                                        # WeChat's retry of the message
    time.sleep(route.delay + 0.3)
    assert len(custom_messages(fake_wechat)) == 1 and len(route.deliveries) == 1
    logged = capfd.readouterr()
    assert "late_reply" in logged.err or "notification_sent" in logged.err + logged.out   # the logs were read
    assert "慢慢来的回答" not in logged.out + logged.err              # the answer is never logged


def test_a_late_answer_retried_until_max_attempts_is_a_dead_letter(late_world, fake_wechat, redis_client) -> None:
    settings, route, webhook = late_world(max_attempts=2)
    fake(fake_wechat, "interact", {"openid": "o_late"})
    fake(fake_wechat, "fail", [{"errcode": -1, "path": "custom"}, {"errcode": -1, "path": "custom"}])
    late(webhook, "查进度")
    wait_for(lambda: route.deliveries and (record_of(settings, redis_client, route)[1] or {}).get("last_error"),
             timeout=5)
    work(settings)
    notification_id, record = record_of(settings, redis_client, route)
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", "2", "-1: WeChat is busy")
    assert NotificationQueue(redis_client, settings).dead() == [notification_id]
    assert custom_messages(fake_wechat) == []


# -- permanent errors: a dead letter at once, with its reason -------------------------------------

def test_a_permanent_error_is_a_dead_letter_after_one_attempt_and_can_be_retried(late_world, fake_wechat,
                                                                                 redis_client) -> None:
    settings, route, webhook = late_world(max_attempts=5)
    fake(fake_wechat, "interact", {"openid": "o_late"})
    fake(fake_wechat, "fail", [{"errcode": 48001, "path": "custom", "errmsg": "api unauthorized"}])
    late(webhook, "查进度")
    wait_for(lambda: route.deliveries and (record_of(settings, redis_client, route)[1] or {}).get("status") == "failed",
             timeout=5)
    work(settings)
    notification_id, record = record_of(settings, redis_client, route)
    assert (record["attempts"], record["last_error"]) == (
        "1", "48001: the account may not use this API (its permissions in the console)")
    queue = NotificationQueue(redis_client, settings)
    assert queue.dead() == [notification_id] and notification_id.startswith("late")
    assert custom_calls(fake_wechat) == 1 and custom_messages(fake_wechat) == []

    # The permission granted, the operator retries it (`wxbot notify retry`): sent, once.
    assert queue.revive(notification_id) == 1
    work(settings)
    [message] = custom_messages(fake_wechat)
    assert message["text"]["content"] == "慢慢来的回答：查进度"


# -- exactly once -------------------------------------------------------------------------------

def test_a_late_answer_in_flight_from_the_webhook_is_not_sent_again_by_a_worker(late_world, fake_wechat,
                                                                                redis_client) -> None:
    """WeChat takes 1.5 s to answer the webhook's attempt; meanwhile the record's retry is made due
    and workers run: the claim keeps them off it. Once settled, nothing is left to send."""
    settings, route, webhook = late_world()
    fake(fake_wechat, "interact", {"openid": "o_late"})
    fake(fake_wechat, "fail", [{"delay": 1.5, "path": "custom"}])
    late(webhook, "查进度")
    retries = Keys.of(settings).notification_retries()
    wait_for(lambda: redis_client.zcard(retries) == 1, timeout=5)     # recorded, the attempt in flight
    redis_client.zadd(retries, {redis_client.zrange(retries, 0, 0)[0]: time.time()})
    workers = [threading.Thread(target=work, args=(settings,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wait_for(lambda: record_of(settings, redis_client, route)[1]["status"] == "sent", timeout=5)
    redis_client.zadd(retries, {record_of(settings, redis_client, route)[0]: time.time()})   # a stale retry
    work(settings)
    assert len(custom_messages(fake_wechat)) == 1 and custom_calls(fake_wechat) == 1


def test_a_late_answer_whose_webhook_died_after_recording_it_is_sent_by_a_worker_once(late_world, fake_wechat,
                                                                                     redis_client) -> None:
    """The webhook wrote the record and took the first attempt's claim, then its process died: the
    retry is due when the claim's lease (reclaim_after) runs out, and a worker sends it then."""
    settings, _, _ = late_world(reclaim_after=2)
    fake(fake_wechat, "interact", {"openid": "o_late"})
    queue, keys = NotificationQueue(redis_client, settings), Keys.of(settings)
    notification_id = late_id(keys.delivery("o_late", "msg:99"))
    sealed = Seal(settings.conversation.secret_key).seal("慢慢来的回答：查进度", notification_id)
    assert queue.begin_late(notification_id, "o_late", KIND, sealed).outcome == "go"   # ...and died
    assert queue.begin_late(notification_id, "o_late", KIND, sealed).outcome == "exists"
    work(settings)
    assert custom_messages(fake_wechat) == []                        # its claim still holds
    time.sleep(2.1)
    work(settings)
    work(settings)
    [message] = custom_messages(fake_wechat)
    assert message["text"]["content"] == "慢慢来的回答：查进度"
    assert NotificationRecords(redis_client, keys).get(notification_id)["attempts"] == "2"


def test_a_late_answer_sealed_under_another_key_is_a_dead_letter_that_says_so(late_world, fake_wechat,
                                                                               redis_client) -> None:
    settings, _, _ = late_world(reclaim_after=2)
    queue, keys = NotificationQueue(redis_client, settings), Keys.of(settings)
    notification_id = late_id(keys.delivery("o_late", "msg:98"))
    other_key = "b3RoZXItY29udmVyc2F0aW9uLWtleS0zMi1ieXRlcyE="
    queue.begin_late(notification_id, "o_late", KIND, Seal(other_key).seal("慢慢来", notification_id))
    redis_client.delete(keys.notification_claim(notification_id))
    redis_client.zadd(keys.notification_retries(), {notification_id: time.time()})
    work(settings)
    record = NotificationRecords(redis_client, keys).get(notification_id)
    assert (record["status"], record["last_error"]) == (
        "failed", "the late answer cannot be opened: conversation.secret_key changed since it was written")
    assert custom_calls(fake_wechat) == 0


# -- Redis away at the moment the answer is recorded ---------------------------------------------

def test_a_late_answer_that_finds_redis_frozen_is_recorded_and_sent_when_it_answers(make_settings, fake_wechat,
                                                                                    tmp_path, capfd) -> None:
    """The handler misses the deadline and Redis stops answering (a failover, a stuck fsync) just
    then: the reply's record and the answer's record both fail. The answer waits in the process and
    is recorded, then sent, once Redis answers again — once."""
    import os
    import signal

    from bot.store.server import RedisServer
    from tests.conftest import free_port

    server = RedisServer(tmp_path / "redis", port=free_port()).start()
    try:
        settings = make_settings(redis={"url": server.url}, webhook={"reply_deadline": DEADLINE},
                                 wechat={"api_base_url": fake_wechat.url},
                                 notifications={"max_attempts": 3, "retry_intervals": [0]})

        def freezing(inbound, session):
            os.kill(server.pid, signal.SIGSTOP)     # Redis freezes while the step works
            time.sleep(DEADLINE + 0.4)
            return Text("冻住之后的回答")

        hook = Webhook(create_app(settings, route=freezing), WeChatSide(settings.wechat))
        requests.post(f"{fake_wechat.url}/fake/interact", json={"openid": "o_frozen"}, timeout=5)
        late(hook, "你好", openid="o_frozen", msg_id=7301)
        logged: list[str] = []
        # The record's tries are over: the answer waits in the process.
        wait_for(lambda: logged.append(capfd.readouterr().err) or "late_reply_waiting_for_redis" in "".join(logged),
                 timeout=20)
        assert [m for m in custom_messages(fake_wechat) if m["touser"] == "o_frozen"] == []
        os.kill(server.pid, signal.SIGCONT)
        sent = wait_for(lambda: [m for m in custom_messages(fake_wechat) if m["touser"] == "o_frozen"], timeout=15)
        time.sleep(1.5)
        assert [m["text"]["content"] for m in custom_messages(fake_wechat) if m["touser"] == "o_frozen"] == \
            ["冻住之后的回答"] == [m["text"]["content"] for m in sent]
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.stop()
