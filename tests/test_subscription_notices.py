"""Subscription notices (订阅通知) end to end: WeChat's events about them recorded per user and
template through the real webhook, and notifications sent as notices by the worker through the fake
WeChat API — the channel each kind chooses, the fallback, one-time and long-term subscriptions,
exactly once."""

from __future__ import annotations

import pytest

from bot.notify.subscription_records import SubscriptionRecords
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
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
    records = SubscriptionRecords(redis_client, Keys.of(settings), [APPROVED, REJECTED])
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
