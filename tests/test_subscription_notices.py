"""Subscription notices (订阅通知) end to end: WeChat's events about them recorded per user and
template through the real webhook, and notifications sent as notices by the worker through the fake
WeChat API — the channel each kind chooses, the fallback, one-time and long-term subscriptions,
exactly once."""

from __future__ import annotations

import re
import time

import pytest
import requests

from bot.notify.subscription_records import SubscriptionRecords
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from tests.conftest import wait_for
from tests.support.webhook import Webhook

APPROVED, REJECTED = "sub-approved-1", "sub-rejected-1"
NOTICES = {
    "approved": {"template_id": "tpl-approved", "title": "家庭共济办理成功通知",
                 "fields": {"thing1": "member", "phrase3": "result", "time4": "decided_at"},
                 "channel": "subscription_then_template",
                 "subscription": {"template_id": APPROVED, "title": "家庭共济办理成功提醒", "long_term": False,
                                  "fields": {"name1": "member", "thing2": "relationship", "phrase3": "result",
                                             "time4": "decided_at", "character_string5": "application"}}},
    "rejected": {"template_id": "tpl-rejected", "fields": {"thing1": "member", "thing3": "reason"},
                 "channel": "subscription",
                 "subscription": {"template_id": REJECTED, "long_term": False,
                                  "fields": {"thing1": "member", "phrase2": "result", "thing3": "reason"}}},
}


@pytest.fixture
def hook(make_settings, redis_client):
    from bot.app import create_app

    settings = make_settings(notifications=NOTICES)
    app = create_app(settings)
    records = SubscriptionRecords(redis_client, Keys.of(settings), settings.notifications)
    return Webhook(app, WeChatSide(settings.wechat)), records


def event(hook, openid: str, name: str, items: list[dict[str, str]], create_time: int = 1_800_000_000) -> str:
    webhook, _ = hook
    response = webhook.send(webhook.side.subscription_event_xml(openid, name, items, create_time), openid)
    assert response.status_code == 200
    return response.text


def popup(hook, openid: str, create_time: int = 1_800_000_000, **choices: str) -> str:
    ids = {"approved": APPROVED, "rejected": REJECTED, "other": "someone-elses"}
    return event(hook, openid, "subscribe_msg_popup_event", [
        {"TemplateId": ids[kind], "SubscribeStatusString": status, "PopupScene": "1"}
        for kind, status in choices.items()], create_time)


def test_the_pop_ups_choices_are_recorded_per_user_and_template_and_answered_with_nothing(hook) -> None:
    _, records = hook
    assert popup(hook, "o_grandma", approved="accept", rejected="reject", other="accept") == "success"
    assert records.may_send("o_grandma", APPROVED, long_term=False)
    assert not records.may_send("o_grandma", REJECTED, long_term=True)
    assert not records.may_send("o_grandpa", APPROVED, long_term=True)      # another user: nothing
    key = records.keys.subscriptions("o_grandma")
    assert b"status:someone-elses" not in records.redis.hkeys(key)           # not ours: not recorded
    assert records.redis.ttl(key) > 0


def test_each_accept_in_a_pop_up_allows_one_send_of_a_one_time_notice(hook) -> None:
    _, records = hook
    popup(hook, "o_grandma", approved="accept")
    popup(hook, "o_grandma", 1_800_000_001, approved="accept")   # a second pop-up, a second second
    records.spent("o_grandma", APPROVED, long_term=False)
    assert records.may_send("o_grandma", APPROVED, long_term=False)
    records.spent("o_grandma", APPROVED, long_term=False)
    assert not records.may_send("o_grandma", APPROVED, long_term=False)
    assert records.may_send("o_grandma", APPROVED, long_term=True)           # a long-term one is never spent
    records.spent("o_grandma", APPROVED, long_term=False)                     # nothing left: stays at nothing
    popup(hook, "o_grandma", 1_800_000_002, approved="accept")
    assert records.may_send("o_grandma", APPROVED, long_term=False)


def test_a_notice_refused_in_its_settings_is_no_longer_sent(hook) -> None:
    _, records = hook
    popup(hook, "o_grandma", approved="accept")
    # WeChat's own example wraps the change event's list in SubscribeMsgPopupEvent: read either way.
    webhook, _ = hook
    xml = webhook.side.subscription_event_xml("o_grandma", "subscribe_msg_popup_event", [
        {"TemplateId": APPROVED, "SubscribeStatusString": "reject"}], 1_800_000_005).replace(
        "<![CDATA[subscribe_msg_popup_event]]>", "<![CDATA[subscribe_msg_change_event]]>")
    assert webhook.send(xml, "o_grandma").text == "success"
    assert not records.may_send("o_grandma", APPROVED, long_term=True)


def test_a_sends_receipt_is_kept_and_a_blocked_one_counts_as_refused(hook) -> None:
    _, records = hook
    popup(hook, "o_grandma", approved="accept", rejected="accept")
    event(hook, "o_grandma", "subscribe_msg_sent_event", [
        {"TemplateId": APPROVED, "MsgID": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"}])
    assert records.receipt_since("o_grandma", APPROVED, since=0)
    assert not records.receipt_since("o_grandma", REJECTED, since=0)
    event(hook, "o_grandma", "subscribe_msg_sent_event", [
        {"TemplateId": REJECTED, "MsgID": "1700827132819554305", "ErrorCode": "20004",
         "ErrorStatus": "failed:user block"}], 1_800_000_009)
    assert not records.may_send("o_grandma", REJECTED, long_term=True)
    assert records.may_send("o_grandma", APPROVED, long_term=True)


def test_subscription_events_wait_for_no_users_lock(hook) -> None:
    from bot.webhook.inbound import parse_inbound
    from handlers.router import needs_user_lock

    webhook, _ = hook

    xml = webhook.side.subscription_event_xml("o_grandma", "subscribe_msg_popup_event",
                                              [{"TemplateId": APPROVED, "SubscribeStatusString": "accept"}])
    assert not needs_user_lock(parse_inbound(xml))


# -- sending: the worker, the fake WeChat API pushing its events to the real webhook ----------------

@pytest.fixture
def world(make_settings, redis_client):
    """The webhook over HTTP, the fake WeChat API pushing its events to it (pop-ups, receipts), the
    sandbox bureau deciding by hand: (settings, app, fake API's URL, the user's records)."""
    from bot.app import create_app
    from bot.background import BackgroundServer
    from bot.simulator.fake_wechat import create_fake_wechat
    from bot.simulator.fake_wechat.pushes import Pushes
    from tests.conftest import APPID, SECRET
    from tests.test_binding_contract import CODE

    servers = []

    def make(notices=NOTICES, **notifications):
        fake_app = create_fake_wechat(APPID, SECRET)
        fake = BackgroundServer(fake_app).start()
        settings = make_settings(wechat={"api_base_url": fake.url, "api_timeout": 0.5},
                                 binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
                                 notifications={"max_attempts": 3, "retry_intervals": [0], **notices, **notifications})
        app = create_app(settings)
        webhook = BackgroundServer(app).start()
        fake_app.extensions["fake_wechat"].pushes = Pushes(webhook.url, WeChatSide(settings.wechat))
        servers.extend([webhook, fake])
        return settings, app, fake.url, SubscriptionRecords(redis_client, Keys.of(settings), settings.notifications)

    yield make
    for server in servers:
        server.stop()


def sent(fake_url: str, kind: str) -> list[dict]:
    return [m for m in requests.get(f"{fake_url}/fake/sent", timeout=5).json() if m["kind"] == kind]


def fake(fake_url: str, path: str, body) -> dict:
    response = requests.post(f"{fake_url}/fake/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def subscribe(fake_url: str, openid: str, accept=(), reject=(), long_term=(), push: bool = True) -> None:
    """The user's choices in WeChat's pop-up; WeChat pushes them to the webhook (unless the push is lost)."""
    answer = fake(fake_url, "subscribe_popup", {"openid": openid, "accept": list(accept), "reject": list(reject),
                                                "long_term": list(long_term), "push": push})
    assert answer["pushed"] == (200 if push else 0)


def decisions(app, openid: str, count: int) -> None:
    """`count` approvals for one user (one application, a binding each): one notification each."""
    from bot.binding.models import Decision
    from tests.test_notifications import decided_application

    bot = app.extensions["wxbot"]
    application_id = decided_application(app, openid=f"{openid}-first")
    for n in range(count):
        assert bot.decisions.record(Decision(
            event_id=f"{openid}-{n}", kind="application.decided", application_id=application_id,
            binding_id=f"{openid}-binding-{n}", status="approved", decided_at="2026-11-22T08:00:00Z"), openid=openid)


def record_of(app, openid: str) -> dict:
    from bot.notify.records import NotificationRecords

    bot = app.extensions["wxbot"]
    [(entry_id, _)] = [(e, f) for e, f in bot.redis.xrange(bot.keys.decisions()) if f[b"openid"] == openid.encode()]
    return NotificationRecords(bot.redis, bot.keys).get(entry_id.decode().replace("-", ""))


def test_an_unfollowed_user_who_subscribed_gets_the_approval_as_one_subscription_notice(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, records = world()
    fake(fake_url, "unfollow", {"openid": "o_grandpa"})
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    assert records.may_send("o_grandpa", APPROVED, long_term=False)      # the webhook recorded WeChat's push
    application_id = decided_application(app)
    work(settings)
    work(settings)
    [notice] = sent(fake_url, "subscription")
    assert (notice["touser"], notice["template_id"]) == ("o_grandpa", APPROVED)
    values = {keyword: item["value"] for keyword, item in notice["data"].items()}
    assert values == {"name1": "王**", "thing2": "孙子女/外孙子女", "phrase3": "已通过",
                      "time4": values["time4"], "character_string5": application_id}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", values["time4"])
    assert sent(fake_url, "template") == []
    assert record_of(app, "o_grandpa")["status"] == "sent"
    # The one-time subscription is used up, on WeChat's side and in the user's record; WeChat's
    # receipt reaches the webhook.
    assert requests.get(f"{fake_url}/fake/subscriptions?openid=o_grandpa", timeout=5).json()[APPROVED]["left"] == 0
    assert not records.may_send("o_grandpa", APPROVED, long_term=False)
    wait_for(lambda: records.receipt_since("o_grandpa", APPROVED, since=0))


def test_a_user_who_refused_gets_a_template_message_instead(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", reject=[APPROVED])
    decided_application(app)
    work(settings)
    assert sent(fake_url, "subscription") == []
    [message] = sent(fake_url, "template")
    assert (message["touser"], message["template_id"]) == ("o_grandpa", "tpl-approved")


def test_a_kind_sent_only_as_a_notice_waits_for_the_next_message_of_a_user_who_refused_it(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", accept=[APPROVED], reject=[REJECTED])   # refused the rejection's notice
    decided_application(app, approve=False)
    work(settings)
    assert sent(fake_url, "subscription") == [] and sent(fake_url, "template") == []
    assert record_of(app, "o_grandpa")["status"] == "waiting_for_user"
    side = WeChatSide(settings.wechat)
    reply = Webhook(app, side).say("你好", openid="o_grandpa")["Content"]
    assert reply.startswith("【办理结果】您为孙子女/外孙子女 王** 办理的家庭共济未通过：证明材料未通过审核")


def test_a_rejection_goes_to_a_subscriber_with_its_reason(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", accept=[REJECTED])
    decided_application(app, approve=False)
    work(settings)
    [notice] = sent(fake_url, "subscription")
    assert {k: v["value"] for k, v in notice["data"].items()} == {
        "thing1": "王**", "phrase2": "未通过", "thing3": "证明材料未通过审核"}


@pytest.mark.parametrize(("long_term", "as_notices"), [(False, 1), (True, 3)])
def test_a_one_time_subscription_is_used_up_a_long_term_one_kept(world, long_term, as_notices) -> None:
    from tests.test_notifications import work

    notices = {**NOTICES, "approved": {**NOTICES["approved"], "subscription": {
        **NOTICES["approved"]["subscription"], "long_term": long_term}},
        "rejected": {**NOTICES["rejected"], "subscription": {**NOTICES["rejected"]["subscription"],
                                                             "long_term": long_term}}}
    settings, app, fake_url, records = world(notices)
    subscribe(fake_url, "o_aunt", accept=[APPROVED], long_term=[APPROVED] if long_term else [])
    decisions(app, "o_aunt", 3)
    work(settings)
    mine = [m for m in sent(fake_url, "subscription") if m["touser"] == "o_aunt"]
    templates = [m for m in sent(fake_url, "template") if m["touser"] == "o_aunt"]
    assert (len(mine), len(templates)) == (as_notices, 3 - as_notices)
    assert records.may_send("o_aunt", APPROVED, long_term) == long_term


def test_wechats_43101_corrects_the_users_record_and_the_kind_falls_back(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, records = world()
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    subscribe(fake_url, "o_grandpa", reject=[APPROVED], push=False)   # WeChat's push of the change was lost
    assert records.may_send("o_grandpa", APPROVED, long_term=False)    # what the webhook last heard
    decided_application(app)
    work(settings)
    assert sent(fake_url, "subscription") == []
    assert [m["template_id"] for m in sent(fake_url, "template")] == ["tpl-approved"]
    assert not records.may_send("o_grandpa", APPROVED, long_term=True)


def test_a_send_whose_answer_was_lost_is_settled_by_wechats_receipt_not_sent_again(world) -> None:
    """bizsend has no client_msg_id: a repeat is avoided by the receipt WeChat pushes."""
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, records = world(retry_intervals=[30])
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])                # two sends allowed: a repeat would go out
    # WeChat sends the notice, but answers after the worker's timeout (0.5 s): the worker is in doubt.
    fake(fake_url, "fail", [{"delay": 1.5, "path": "bizsend"}])
    decided_application(app)
    work(settings)
    assert record_of(app, "o_grandpa")["status"] == "queued"             # its retry scheduled
    wait_for(lambda: sent(fake_url, "subscription") and records.receipt_since("o_grandpa", APPROVED, since=0),
             timeout=10)
    retry_now(app)
    work(settings)
    assert len(sent(fake_url, "subscription")) == 1 and sent(fake_url, "template") == []
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"]) == ("sent", "2")
    assert records.may_send("o_grandpa", APPROVED, long_term=False)    # of the two sends allowed, one is left


def test_a_send_that_never_reached_wechat_is_sent_again(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world(retry_intervals=[30])
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    fake(fake_url, "fail", [{"status": 502, "path": "bizsend"}])       # a proxy's error: no answer of WeChat's
    decided_application(app)
    work(settings)
    assert sent(fake_url, "subscription") == []
    time.sleep(1.1)                                                    # no receipt comes
    retry_now(app)
    work(settings)
    assert len(sent(fake_url, "subscription")) == 1 and sent(fake_url, "template") == []
    assert record_of(app, "o_grandpa")["status"] == "sent"


# -- WeChat's errors on a notice: through the sender's _post, read per channel --------------------

def test_bizsend_is_one_of_the_apis_the_sender_pauses_on_its_own(world) -> None:
    """45009 on bizsend pauses the notices until the reset, no attempt spent, for a kind sent only
    as a notice; template messages go on."""
    from bot.notify import send
    from bot.notify.queue import NotificationQueue
    from tests.test_notifications import decided_application, work

    assert send.APIS[:2] == ("message/template/send", "message/subscribe/bizsend")
    settings, app, fake_url, records = world()
    subscribe(fake_url, "o_grandpa", accept=[REJECTED])
    fake(fake_url, "fail", [{"errcode": 45009, "path": "bizsend"}])
    decided_application(app, approve=False)
    work(settings)
    bot = app.extensions["wxbot"]
    queue = NotificationQueue(bot.redis, settings)
    assert queue.paused("message/subscribe/bizsend") is not None
    assert queue.paused("message/template/send") is None
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"], record["subscription_sent_at"]) == ("queued", "0", "")
    assert "45009" in record["last_error"] and sent(fake_url, "subscription") == sent(fake_url, "template") == []
    assert records.may_send("o_grandpa", REJECTED, long_term=False)      # not spent: nothing was sent


@pytest.mark.parametrize("paused_before", [False, True])
def test_a_paused_bizsend_sends_the_template_message_for_a_kind_with_that_fallback(world, paused_before) -> None:
    """45009 on bizsend — met by this send, or by an earlier one — and the approval, whose kind falls
    back to its template message, goes as that at once: the pause holds for the notices only."""
    from bot.notify.queue import NotificationQueue
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, records = world()
    bot = app.extensions["wxbot"]
    queue = NotificationQueue(bot.redis, settings)
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    if paused_before:
        queue.pause("message/subscribe/bizsend", time.time() + 3600, "45009: the API's daily quota is used up")
    else:
        fake(fake_url, "fail", [{"errcode": 45009, "path": "bizsend"}])
    decided_application(app)
    work(settings)
    sent_as_the_template_message_in_one_attempt(app, fake_url)
    assert queue.paused("message/subscribe/bizsend") is not None and queue.paused("message/template/send") is None
    calls = requests.get(f"{fake_url}/fake/stats", timeout=5).json()["calls"]
    assert calls.get("/cgi-bin/message/subscribe/bizsend", 0) == (0 if paused_before else 1)
    assert records.may_send("o_grandpa", APPROVED, long_term=False)      # the subscription is not spent


def test_a_paused_bizsend_keeps_the_notice_for_a_subscriber_who_does_not_follow(world) -> None:
    """The template message cannot reach a user who unfollowed (43004): the notice can, after the
    reset. The approval waits for it, no attempt spent, instead of waiting for a visit."""
    from bot.notify.queue import NotificationQueue
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    fake(fake_url, "unfollow", {"openid": "o_grandpa"})
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    fake(fake_url, "fail", [{"errcode": 45009, "path": "bizsend"}])
    decided_application(app)
    work(settings)
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"]) == ("queued", "0")
    assert "45009" in record["last_error"]
    assert sent(fake_url, "subscription") == sent(fake_url, "template") == []
    bot = app.extensions["wxbot"]
    [(_, due)] = bot.redis.zrange(bot.keys.notification_retries(), 0, -1, withscores=True)
    assert due == pytest.approx(NotificationQueue(bot.redis, settings).paused("message/subscribe/bizsend").until)
    # The reset: the pause over, the retry due.
    bot.redis.delete(bot.keys.notification_pause("message/subscribe/bizsend"))
    retry_now(app)
    time.sleep(1.1)   # what each worker last read of the pause is trusted for a second
    work(settings)
    assert [m["template_id"] for m in sent(fake_url, "subscription")] == [APPROVED]
    assert record_of(app, "o_grandpa")["status"] == "sent"


def test_a_notice_wechat_refuses_for_its_values_is_a_dead_letter_when_it_is_the_only_channel(world) -> None:
    """47003 on a kind sent only as a notice: permanent, the reason names the notice's keyword."""
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", accept=[REJECTED])
    fake(fake_url, "fail", [{"errcode": 47003, "path": "bizsend", "errmsg": "argument invalid! data.thing3.value invalid"}])
    decided_application(app, approve=False)
    work(settings)
    assert sent(fake_url, "subscription") == sent(fake_url, "template") == []
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"]) == ("failed", "1")
    assert record["last_error"] == "47003: a value breaks the template's keyword rules (thing3 = reason)"


def sent_as_the_template_message_in_one_attempt(app, fake_url: str) -> None:
    """The news reached o_grandpa as the approved template message, not as a notice, at once."""
    assert sent(fake_url, "subscription") == []
    assert [m["template_id"] for m in sent(fake_url, "template")] == ["tpl-approved"]
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"]) == ("sent", "1")


@pytest.mark.parametrize("errcode, errmsg", [(47003, "argument invalid! data.thing2.value invalid"),
                                             (40036, "invalid template_id"), (40037, "invalid template_id")])
def test_a_notice_wechat_refuses_for_good_falls_back_to_the_template_message(world, errcode, errmsg) -> None:
    """On a subscription_then_template kind, what the notice can never be sent with — a value its
    keyword refuses (47003), or a template_id WeChat does not know (40036/40037: the setting is
    wrong): the user still gets the news, as the template message, in the same attempt."""
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, records = world()
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    fake(fake_url, "fail", [{"errcode": errcode, "path": "bizsend", "errmsg": errmsg}])
    decided_application(app)
    work(settings)
    sent_as_the_template_message_in_one_attempt(app, fake_url)
    assert records.may_send("o_grandpa", APPROVED, long_term=False)      # the subscription is not spent


def test_a_notice_whose_template_id_wechat_does_not_know_is_a_dead_letter_when_it_is_the_only_channel(world) -> None:
    from tests.test_notifications import decided_application, work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", accept=[REJECTED])
    fake(fake_url, "fail", [{"errcode": 40037, "path": "bizsend"}])
    decided_application(app, approve=False)
    work(settings)
    assert sent(fake_url, "subscription") == sent(fake_url, "template") == []
    record = record_of(app, "o_grandpa")
    assert (record["status"], record["attempts"]) == ("failed", "1")
    assert record["last_error"] == ("40037: the template id is not one of this account's "
                                    "(notifications.rejected.subscription.template_id)")


def test_a_notice_value_that_does_not_fit_its_keyword_falls_back_before_the_call(world) -> None:
    """The bureau's id is 40 characters: no character_string takes it (32), so the approval goes as
    its template message (which does not show the id) without a bizsend."""
    from bot.binding.models import Decision
    from tests.test_notifications import work

    settings, app, fake_url, _ = world()
    subscribe(fake_url, "o_grandpa", accept=[APPROVED])
    bot = app.extensions["wxbot"]
    assert bot.decisions.record(Decision(event_id="e-long", kind="application.decided", application_id="A" * 40,
                                         status="approved", decided_at="2026-11-22T08:00:00Z"), openid="o_grandpa")
    work(settings)
    assert sent(fake_url, "subscription") == []
    assert [m["template_id"] for m in sent(fake_url, "template")] == ["tpl-approved"]
    assert requests.get(f"{fake_url}/fake/stats", timeout=5).json()["calls"].get("/cgi-bin/message/subscribe/bizsend",
                                                                                   0) == 0


def retry_now(app) -> None:
    bot = app.extensions["wxbot"]
    key = bot.keys.notification_retries()
    bot.redis.zadd(key, dict.fromkeys(bot.redis.zrange(key, 0, -1), time.time()))


# -- the reply after submitting a binding ----------------------------------------------------------

@pytest.mark.parametrize("subscribes", [True, False])
def test_the_reply_to_a_submission_links_the_subscribe_page_when_the_result_is_a_notice(make_settings, redis_client,
                                                                                       subscribes) -> None:
    from bot.app import create_app
    from bot.background import BackgroundServer
    from flows.texts import bind_member as t
    from tests.support.binding import person
    from tests.support.chat import CODE, User, verify_rows

    notices = NOTICES if subscribes else {kind: {**value, "channel": "template"} for kind, value in NOTICES.items()}
    settings = make_settings(binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
                             notifications={**notices, "subscribe_page": "https://wx.example.gov.cn/subscribe?x=1&y=2"})
    server = BackgroundServer(create_app(settings)).start()
    try:
        grandpa, child = User(server, WeChatSide(settings.wechat), "o_grandpa"), person("王朵朵")
        grandpa.play([("绑定家人", "先验证一下您的身份"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"),
                      ("孙女", "姓名"), (child.name, "证件号码"), (child.id_number, "户口本")])
        assert "承诺书" in grandpa.image("m-1")
        grandpa.play([("同意", "请核对")])
        submitted = grandpa.say("确认")
    finally:
        server.stop()
    assert submitted.startswith(t.UNDER_REVIEW)
    link = t.SUBSCRIBE.format(url="https://wx.example.gov.cn/subscribe?x=1&amp;y=2")   # an attribute, escaped
    assert (link in submitted) == subscribes
    assert ("订阅办理结果提醒" in submitted) == subscribes


@pytest.mark.parametrize("inner", [
    "",                                                                  # no list at all
    "<SubscribeMsgPopupEvent>text</SubscribeMsgPopupEvent>",
    "<SubscribeMsgPopupEvent><List>text</List></SubscribeMsgPopupEvent>",
    "<SubscribeMsgPopupEvent><List><TemplateId><a>x</a></TemplateId>"
    "<SubscribeStatusString>accept</SubscribeStatusString></List></SubscribeMsgPopupEvent>",
    f"<SubscribeMsgPopupEvent><List><TemplateId>{APPROVED}</TemplateId>"
    "<SubscribeStatusString>maybe</SubscribeStatusString></List></SubscribeMsgPopupEvent>",
    f"<SubscribeMsgPopupEvent><List><TemplateId>{APPROVED}</TemplateId></List></SubscribeMsgPopupEvent>",
])
def test_a_malformed_subscription_event_is_answered_and_changes_nothing(hook, inner) -> None:
    webhook, records = hook
    xml = (f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[o_odd]]></FromUserName>"
           f"<CreateTime>1800000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           f"<Event><![CDATA[subscribe_msg_popup_event]]></Event>{inner}</xml>")
    response = webhook.send(xml, "o_odd")
    assert (response.status_code, response.text) == (200, "success")
    assert records.redis.hgetall(records.keys.subscriptions("o_odd")) == {}
