"""Subscription notices (订阅通知) in the settings: a channel per kind of notification, each notice's
keywords checked against WeChat's rules for their types (bot/notify/keywords.py, as a template
message's, without its 20-character cap), and what production refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.notify import keywords, templates
from bot.production import refusals

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"
NOTICE = {"template_id": "sub-approved", "long_term": True,
          "fields": {"thing1": "member", "phrase2": "result", "time3": "decided_at"}}


def approved(**changes) -> dict:
    return {"approved": {"template_id": "tpl-approved", "fields": {"thing1": "member"}, **changes}}


def test_every_kind_is_a_template_message_unless_it_says_otherwise(make_settings) -> None:
    settings = make_settings()
    assert {kind.channel for kind in settings.notifications.kinds().values()} == {"template"}
    assert settings.notifications.subscribed_notices() == []


def test_a_kind_that_uses_subscriptions_names_its_notice(make_settings) -> None:
    with pytest.raises(ConfigError, match="notifications.approved: channel 'subscription' needs its subscription"):
        make_settings(notifications=approved(channel="subscription"))
    settings = make_settings(notifications=approved(channel="subscription_then_template", subscription=NOTICE))
    [notice] = settings.notifications.subscribed_notices()
    assert (notice.template_id, notice.long_term) == ("sub-approved", True)


def test_a_notice_kept_for_another_channel_is_not_offered(make_settings) -> None:
    settings = make_settings(notifications=approved(channel="template", subscription=NOTICE))
    assert settings.notifications.subscribed_notices() == []


@pytest.mark.parametrize(("fields", "says"), [
    ({"phrase1": "member"}, "phrase1: member can be '阿***·***'; a phrase keyword takes 5 Chinese characters"),
    ({"time1": "member"}, "time1: member can be '阿***·***'; a time keyword takes a time of day"),
    ({"character_string1": "reason"}, "character_string1: reason can be '家人未在有效期内确认'; "
                                      "a character_string keyword takes 32 letters"),
    ({"number1": "application"}, "number1: application can be 'A5f3c8e21d0b94a77'; a number keyword takes 32 digits"),
])
def test_each_keyword_takes_only_the_values_its_type_allows(make_settings, fields, says) -> None:
    """At start-up (check-config, serve, worker, run), one line per keyword, named by its setting."""
    settings = make_settings(notifications=approved(channel="subscription", subscription={**NOTICE, "fields": fields}))
    [line] = templates.problems(settings)
    assert line.startswith("notifications.approved.subscription.fields.") and says in line, line


def test_a_keyword_without_a_type_is_refused_when_the_settings_are_read(make_settings) -> None:
    with pytest.raises(ConfigError, match="'thing' is not a keyword as WeChat names them"):
        make_settings(notifications=approved(channel="subscription", subscription={**NOTICE, "fields": {"thing": "member"}}))


def test_a_notice_has_its_types_limits_not_the_template_messages_cap(make_settings) -> None:
    fields = {"character_string1": "application", "phrase2": "result", "name3": "member", "time4": "decided_at"}
    settings = make_settings(notifications=approved(channel="subscription", subscription={**NOTICE, "fields": fields}))
    assert templates.problems(settings) == []
    assert keywords.fit("character_string1", "A" * 32) == "A" * 32   # a template message takes 20


def test_one_pop_up_cannot_mix_long_term_and_one_time_notices(make_settings) -> None:
    rejected = {"rejected": {"template_id": "tpl-rejected", "fields": {"thing1": "member"}, "channel": "subscription",
                             "subscription": {**NOTICE, "template_id": "sub-rejected", "long_term": False}}}
    with pytest.raises(ConfigError, match="all long_term or all one-time"):
        make_settings(notifications={**approved(channel="subscription", subscription=NOTICE), **rejected})


def test_the_subscribe_page_is_a_full_address_without_a_fragment(make_settings) -> None:
    for bad in ("wx.example.gov.cn/subscribe", "https://wx.example.gov.cn/subscribe#top", "https://wx.example.gov.cn"):
        with pytest.raises(ConfigError, match="notifications.subscribe_page"):
            make_settings(notifications={"subscribe_page": bad})
    assert make_settings(notifications={"subscribe_page": "https://wx.example.gov.cn/subscribe"})


def test_keyword_types_and_values_as_wechat_takes_them() -> None:
    assert [getattr(keywords.type_of(k), "name", None) for k in ("thing1", "character_string12", "phrase3", "thing")] == [
        "thing", "character_string", "phrase", None]
    assert keywords.fit("thing1", "一" * 25) == "一" * 19 + "…"
    with pytest.raises(keywords.DoesNotFit):
        keywords.fit("phrase2", "审核没有通过了")                  # five Chinese characters at most: not cut
    assert keywords.fit("thing1", "第一行\n第二行") == "第一行 第二行"
    assert keywords.fit("time4", "2026-11-22 16:05") == "2026-11-22 16:05"


def test_production_wants_the_consoles_ids_and_an_https_page() -> None:
    settings = load_settings(EXAMPLE, server={"environment": "production"})
    keys = {line.split(":")[0] for line in refusals(settings)}
    assert {"notifications.approved.subscription.template_id", "notifications.rejected.subscription.template_id",
            "notifications.subscribe_page"} <= keys
    real = load_settings(EXAMPLE, server={"environment": "production"}, notifications={
        "subscribe_page": "https://wx.example.gov.cn/subscribe",
        "approved": {"template_id": "a", "fields": {"thing1": "member"}, "channel": "subscription",
                     "subscription": {**NOTICE, "template_id": "k3mFq0w9ZxTrA1cdPvY7eH2sLgN5bUoJiRt8yWa4XcE"}},
        "rejected": {"template_id": "b", "fields": {"thing1": "member"}}})
    assert [line for line in refusals(real) if "subscri" in line.split(":")[0]] == []
