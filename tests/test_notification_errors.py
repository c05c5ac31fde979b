"""WeChat's errors by kind, through the real worker and the fake WeChat API: a permanent error is a
dead letter after one attempt, saying why; the quota (45009) pauses every send until it resets,
spending no attempts; token errors are retried soon; a blip gets the usual backoff. Values are
fitted to their keywords' types before they are sent, and a template whose keyword a value can
miss is refused at start-up. The decisions stream stays bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from bot.app import create_app
from bot.binding.models import Decision
from bot.config import load_settings
from bot.notify import errors, keywords, templates
from bot.notify import worker as worker_module
from bot.notify.errors import Kind
from bot.notify.queue import GROUP, NotificationQueue
from bot.notify.records import NotificationRecords
from bot.notify.worker import Worker
from bot.store.keys import Keys
from tests.conftest import wait_for
from tests.support.processes import DEVELOPMENT, settings_env
from tests.test_binding_contract import CODE
from tests.test_notifications import decided_application, fake, sent, work

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATE_SEND = "/cgi-bin/message/template/send"


@pytest.fixture
def build(make_settings, fake_wechat, redis_client):
    """Settings and the app, with `notifications` overrides; the fake WeChat API's url as `.url`."""
    def make(**notifications):
        settings = make_settings(
            wechat={"api_base_url": fake_wechat.url},
            binding={"sandbox": {"verification_code": CODE, "review": "manual"}},
            notifications={"max_attempts": 3, "retry_intervals": [0], **notifications})
        return settings, create_app(settings)
    make.fake = fake_wechat
    make.redis = redis_client
    return make


def template_calls(fake_wechat) -> int:
    return requests.get(f"{fake_wechat.url}/fake/stats", timeout=5).json()["calls"].get(TEMPLATE_SEND, 0)


def only_record(settings, redis_client) -> tuple[str, dict]:
    """The one notification recorded so far: its id and record."""
    keys = Keys.of(settings)
    [(entry_id, _)] = redis_client.xrange(keys.decisions())
    notification_id = entry_id.decode().replace("-", "")
    return notification_id, NotificationRecords(redis_client, keys).get(notification_id)


def wxbot(settings, *args: str, code: int = 0, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT,
                            env={**os.environ, **(settings_env(settings) if settings else {}), **(env or {})},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


# -- permanent errors: dead letters at once ------------------------------------------------------

def test_a_value_wechat_refuses_is_a_dead_letter_after_one_attempt_naming_the_keyword(build) -> None:
    settings, app = build(max_attempts=5)
    fake(build.fake, "fail", [{"errcode": 47003, "path": "template",
                               "errmsg": "argument invalid! data.thing2.value invalid rid: 6571e2c1-19b4f4a7"}])
    decided_application(app)
    work(settings)
    assert sent(build.fake) == [] and template_calls(build.fake) == 1   # one attempt, no retry
    notification_id, record = only_record(settings, build.redis)
    reason = "47003: a value breaks the template's keyword rules (thing2 = relationship)"
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", "1", reason)
    assert NotificationQueue(build.redis, settings).dead() == [notification_id]

    listing = wxbot(settings, "notify", "dead")
    assert f"notify-{notification_id}  attempts 1  last error: {reason}" in listing and "1 dead" in listing
    assert "o_grandpa" not in listing and "王" not in listing   # no openid, no name


@pytest.mark.parametrize(("errcode", "reason"), [
    (40037, "40037: the template id is not one of this account's (notifications.approved.template_id)"),
    (40003, "40003: the openid is not a user of this account"),
    (43101, "43101: the user refused the account's messages"),
])
def test_permanent_errors_are_dead_letters_at_once(build, errcode: int, reason: str) -> None:
    settings, app = build(max_attempts=5)
    fake(build.fake, "fail", [{"errcode": errcode, "path": "template"}])
    decided_application(app)
    work(settings)
    assert template_calls(build.fake) == 1
    _, record = only_record(settings, build.redis)
    assert (record["status"], record["attempts"], record["last_error"]) == ("failed", "1", reason)


# -- transient and token errors: tried again -----------------------------------------------------

def due_in(settings, redis_client) -> float:
    [(_, due)] = redis_client.zrange(Keys.of(settings).notification_retries(), 0, -1, withscores=True)
    return due - time.time()


def make_due(settings, redis_client) -> None:
    """As if the retry's interval had passed."""
    key = Keys.of(settings).notification_retries()
    for item in redis_client.zrange(key, 0, -1):
        redis_client.zadd(key, {item: time.time()})


def test_wechat_busy_is_retried_with_the_backoff_then_sent(build) -> None:
    settings, app = build(max_attempts=3, retry_intervals=[30, 120])
    decided_application(app)
    for attempt, interval in ((1, 30), (2, 120)):
        fake(build.fake, "fail", [{"errcode": -1, "path": "template"}])
        work(settings)
        assert interval - 5 < due_in(settings, build.redis) <= interval
        _, record = only_record(settings, build.redis)
        assert (record["status"], record["attempts"], record["last_error"]) == ("queued", str(attempt),
                                                                                  "-1: WeChat is busy")
        make_due(settings, build.redis)
    work(settings)
    assert len(sent(build.fake)) == 1
    assert only_record(settings, build.redis)[1]["attempts"] == "3"


def test_a_refused_token_is_retried_soon_every_time(build) -> None:
    settings, app = build(max_attempts=3, retry_intervals=[7, 300])
    decided_application(app)
    for attempt in (1, 2):
        # Every call refused for a moment: the client's refresh and its one retry meet it too.
        fake(build.fake, "fail", [{"errcode": 40001, "path": "template", "seconds": 1}])
        work(settings)
        assert 2 < due_in(settings, build.redis) <= 7     # the first interval, whichever attempt
        _, record = only_record(settings, build.redis)
        assert record["attempts"] == str(attempt) and record["status"] == "queued"
        time.sleep(1.1)
        make_due(settings, build.redis)
    work(settings)
    assert len(sent(build.fake)) == 1


def test_an_access_token_wechat_will_not_hand_out_pauses_nothing(make_settings) -> None:
    """The token API's own errors (its quota, the IP whitelist) come from fetching the token, not
    from the send: the usual backoff, never a pause of the template API nor a dead letter at once."""
    from wechatpy.exceptions import WeChatClientException

    from bot.notify.send import Failed, Sender

    class Refusing:
        def post(self, api: str, data: dict) -> dict:
            raise WeChatClientException(45009, "reach max api daily quota limit")   # as fetch_stable_token raises

    class Unpaused:
        def paused(self, api: str) -> None:
            return None

    sender = Sender(make_settings(), Unpaused(), None, Refusing(), None)
    with pytest.raises(Failed) as failed:
        sender._post("message/template/send", {}, template="notifications.approved", fields={})
    assert failed.value.failure.kind is Kind.TRANSIENT and failed.value.failure.resume_at is None
    assert failed.value.failure.reason == "no access token: 45009: the API's daily quota is used up"


# -- the quota: every send waits for its reset --------------------------------------------------

def test_the_quota_pauses_every_send_until_it_resets_spending_no_attempts(build) -> None:
    resume = datetime.now(SHANGHAI).replace(microsecond=0) + timedelta(seconds=8)   # room for a slow machine
    settings, app = build(max_attempts=1, quota_resume_at=resume.strftime("%H:%M:%S"))
    fake(build.fake, "fail", [{"errcode": 45009, "path": "template", "errmsg": "reach max api daily quota limit"}])
    decided_application(app, openid="o_first")
    work(settings)
    assert sent(build.fake) == [] and template_calls(build.fake) == 1
    _, record = only_record(settings, build.redis)
    assert (record["status"], record["attempts"]) == ("queued", "0")   # max_attempts is 1: none was spent
    assert record["last_error"] == ("45009: the API's daily quota is used up; sends resume at "
                                    f"{resume:%Y-%m-%d %H:%M} (Asia/Shanghai)")
    assert abs(due_in(settings, build.redis) - (resume.timestamp() - time.time())) < 0.01

    # Another decision meanwhile: not even tried — the pause is every worker's.
    decided_application(app, openid="o_second", initiator="周强")
    work(settings)
    work(settings)
    assert sent(build.fake) == [] and template_calls(build.fake) == 1
    keys, queue = Keys.of(settings), NotificationQueue(build.redis, settings)
    assert build.redis.zcard(keys.notification_retries()) == 2 and queue.dead() == []
    assert queue.paused("message/template/send").until == resume.timestamp()
    listing = wxbot(settings, "notify", "dead")
    assert listing.splitlines()[0] == (f"sends through message/template/send paused until {resume:%Y-%m-%d %H:%M:%S} "
                                       f"(Asia/Shanghai): {record['last_error']}")
    assert listing.splitlines()[-1] == "0 dead"

    time.sleep(max(0.0, resume.timestamp() - time.time()) + 0.2)   # the quota has reset
    work(settings)
    assert sorted(m["touser"] for m in sent(build.fake)) == ["o_first", "o_second"]
    assert template_calls(build.fake) == 3
    records = NotificationRecords(build.redis, keys)
    assert [records.get(id_.decode().replace("-", ""))["attempts"]
            for id_, _ in build.redis.xrange(keys.decisions())] == ["1", "1"]
    assert queue.paused("message/template/send") is None


def at(zone: ZoneInfo, *parts: int) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()


@pytest.mark.parametrize(("now", "resumes"), [
    ((2026, 11, 22, 15, 30), (2026, 11, 23, 0, 1)),          # the afternoon: after midnight
    ((2026, 11, 22, 23, 59, 59), (2026, 11, 23, 0, 1)),
    ((2026, 11, 23, 0, 0, 30), (2026, 11, 23, 0, 1)),        # just after midnight, clocks apart: a minute
    ((2026, 11, 23, 0, 1), (2026, 11, 24, 0, 1)),            # already resumed today: tomorrow
    ((2026, 12, 31, 20, 0), (2027, 1, 1, 0, 1)),
])
def test_the_quota_resumes_after_midnight_in_the_regions_zone(now: tuple, resumes: tuple) -> None:
    assert errors.quota_resumes(at(SHANGHAI, *now), SHANGHAI, clock(0, 1)) == at(SHANGHAI, *resumes)
    # The machine's own zone plays no part: 16:00 UTC is midnight in Shanghai.
    assert errors.quota_resumes(at(UTC, 2026, 11, 22, 15, 59), SHANGHAI, clock(0, 1)) == at(UTC, 2026, 11, 22, 16, 1)
    urumqi = ZoneInfo("Asia/Urumqi")   # a region that keeps Xinjiang time
    assert errors.quota_resumes(at(urumqi, *now), urumqi, clock(0, 1)) == at(urumqi, *resumes)


def test_each_kind_of_error_says_what_next() -> None:
    now = at(SHANGHAI, 2026, 11, 22, 15, 30, 20)

    def failure(errcode: int, errmsg: str = "") -> errors.Failure:
        return errors.of_errcode(errcode, errmsg, template="notifications.rejected",
                                 fields={"thing3": "reason"}, now=now, zone=SHANGHAI, quota_resume_at=clock(0, 1))

    quota = failure(45009)
    assert quota.kind is Kind.QUOTA and quota.resume_at == at(SHANGHAI, 2026, 11, 23, 0, 1)
    minute = failure(45011)
    assert minute.kind is Kind.RATE and minute.resume_at == at(SHANGHAI, 2026, 11, 22, 15, 31, 1)
    assert failure(40001).kind is failure(42001).kind is Kind.TOKEN
    assert failure(-1).kind is failure(40164).kind is Kind.TRANSIENT
    assert failure(47003, "argument invalid! data.thing3.value invalid").reason.endswith("(thing3 = reason)")
    assert failure(40037).reason.endswith("(notifications.rejected.template_id)")
    unknown = failure(61234, "something new rid: 1234-5678")
    assert unknown.kind is Kind.TRANSIENT and unknown.reason.startswith("61234: not in the bot's table")
    assert all(kind is not Kind.PERMANENT for code, (kind, _) in errors.CODES.items() if code in (-1, 45009, 45011))


# -- keyword types -------------------------------------------------------------------------------

@pytest.mark.parametrize(("keyword", "value", "fitted"), [
    ("thing1", "王**", "王**"),
    ("thing1", "一" * 25, "一" * 19 + "…"),
    ("thing1", "两行\n文字", "两行 文字"),
    ("name2", "阿***·***", "阿***·***"),
    ("name2", "J" + "*" * 30, "J" + "*" * 19),           # a masked Latin name: its stars cut
    ("phrase3", "已通过", "已通过"),
    ("character_string4", "A5f3c8e21d0b94a77", "A5f3c8e21d0b94a77"),
    ("number5", "12.50", "12.50"),
    ("letter6", "abc", "abc"),
    ("symbol7", "-->", "-->"),
    ("time8", "2026-11-22 08:05", "2026-11-22 08:05"),
    ("time8", "15:01~16:30", "15:01~16:30"),
    ("date9", "2026年11月22日", "2026年11月22日"),
    ("date9", "2026-11-22 08:05", "2026-11-22 08:05"),
    ("amount10", "¥12.50", "¥12.50"),
    ("phone_number11", "+86-0571-12345678", "+86-0571-12345678"),
    ("car_number12", "浙A8Z888挂", "浙A8Z888挂"),
    ("keyword13", "旧模板的值", "旧模板的值"),
])
def test_values_that_fit_their_keywords(keyword: str, value: str, fitted: str) -> None:
    assert keywords.fit(keyword, value) == fitted


def test_a_template_message_takes_twenty_characters_whatever_the_type() -> None:
    assert keywords.fit("character_string1", "A" * 32) == "A" * 32          # a subscription message's limit
    with pytest.raises(keywords.DoesNotFit, match="takes 20"):
        keywords.fit("character_string1", "A" * 21, keywords.TEMPLATE_CAP)
    assert keywords.fit("thing1", "一" * 25, keywords.TEMPLATE_CAP) == "一" * 19 + "…"


@pytest.mark.parametrize(("keyword", "value"), [
    ("phrase1", "家人未在有效期内确认"), ("phrase1", "王**"), ("phrase1", "ok"),
    ("name2", "王2"), ("character_string3", "已通过"), ("character_string3", "A" * 33),
    ("number4", "2026-11-22"), ("letter5", "abc1"), ("symbol6", "a"), ("time7", "昨天"),
    ("time7", "2026-11-22"), ("date8", "15:01"), ("amount9", "十元"), ("phone_number10", "call me"),
    ("car_number11", "浙A8Z8888888"), ("thing12", "a\x00b"), ("thing12", " "),
])
def test_values_that_do_not(keyword: str, value: str) -> None:
    with pytest.raises(keywords.DoesNotFit):
        keywords.fit(keyword, value)


def test_every_default_template_fits_and_a_keyword_a_value_can_miss_is_named(make_settings) -> None:
    assert templates.problems(make_settings()) == []
    assert templates.problems(load_settings(ROOT / "config.example.toml", server={"environment": "development"})) == []
    fields = {"thing1": "member", "phrase2": "reason", "phrase3": "relationship", "number4": "decided_at",
              "phrase5": "member", "character_string6": "result", "time7": "decided_at", "date8": "decided_at",
              "character_string9": "application", "name10": "member"}
    settings = make_settings(notifications={"rejected": {"template_id": "T", "fields": fields}})
    assert templates.problems(settings) == [
        "notifications.rejected.fields.phrase2: reason can be 10 characters; a phrase keyword takes 5",
        "notifications.rejected.fields.phrase3: relationship can be '祖父母/外祖父母'; "
        "a phrase keyword takes 5 Chinese characters, nothing else",
        "notifications.rejected.fields.number4: decided_at can be '2026-11-22 16:05'; "
        "a number keyword takes 32 digits (a decimal part allowed)",
        "notifications.rejected.fields.phrase5: member can be '阿***·***'; "
        "a phrase keyword takes 5 Chinese characters, nothing else",
        "notifications.rejected.fields.character_string6: result can be '未通过'; "
        "a character_string keyword takes 32 letters, digits and symbols (no Chinese)",
    ]
    # A region that binds spouses, parents and children only: their names are phrases.
    narrow = make_settings(region={"relationships": ["spouse", "parent", "child"]},
                           notifications={"approved": {"template_id": "T", "fields": {"phrase1": "relationship"}}})
    assert templates.problems(narrow) == []


def test_a_keyword_a_value_can_miss_is_refused_at_start_up_in_one_line(tmp_path: Path) -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    default = 'fields = { thing1 = "member", phrase2 = "result", thing3 = "reason", time4 = "decided_at" }'
    assert example.count(default) == 3    # rejected, its subscription notice, and terminated
    config = tmp_path / "config.toml"
    config.write_text(example.replace(default, default.replace('phrase2 = "result", thing3 = "reason"',
                                                               'phrase2 = "reason", thing3 = "result"'), 1),
                      encoding="utf-8")
    line = "config: notifications.rejected.fields.phrase2: reason can be 10 characters; a phrase keyword takes 5"
    for command in (("check-config",), ("worker", "--burst")):
        refused = wxbot(None, *command, "--config", str(config), code=2, env=DEVELOPMENT)
        assert refused.strip().splitlines() == [line], refused

    config.write_text(example.replace("thing1 = ", "foo1 = ", 1), encoding="utf-8")
    refused = wxbot(None, "check-config", "--config", str(config), code=2, env=DEVELOPMENT)
    assert refused.strip().splitlines()[0].startswith("config: notifications.approved.fields: 'foo1' is not a keyword")


def test_a_value_that_does_not_fit_when_sent_is_a_dead_letter_and_never_reaches_wechat(build) -> None:
    settings, app = build(max_attempts=5, approved={"template_id": "T", "fields": {
        "thing1": "member", "character_string2": "application", "phrase3": "result", "time4": "decided_at"}})
    assert templates.problems(settings) == []   # the bureau's ids: known only when sent
    bot = app.extensions["wxbot"]
    assert bot.decisions.record(Decision(event_id="e-long", kind="application.decided", application_id="A" * 40,
                                         status="approved", decided_at="2026-11-22T08:00:00Z"), openid="o_long")
    work(settings)
    assert template_calls(build.fake) == 0
    _, record = only_record(settings, build.redis)
    assert (record["status"], record["attempts"]) == ("failed", "1")
    assert record["last_error"] == ("not sent, a value does not fit: notifications.approved.fields.character_string2: "
                                    "application is 40 characters; a character_string keyword takes 20")


# -- the decisions stream, trimmed ----------------------------------------------------------------

def test_the_stream_keeps_what_some_group_has_not_acknowledged(make_settings, redis_client) -> None:
    settings = make_settings()
    queue = NotificationQueue(redis_client, settings, consumer="c1")
    stream = queue.stream
    ids = [redis_client.xadd(stream, {"n": str(n)}).decode() for n in range(10)]
    assert queue.trim(kept=0) == 0                       # no group yet: nobody has read anything
    queue.ensure_group()
    taken = [entry_id for entry_id, _ in queue.read(6, None)]
    assert taken == ids[:6]
    queue.ack(taken[:2] + taken[3:5])                    # the third and the sixth still pending
    assert queue.trim(kept=0) == 2                       # below the oldest pending
    assert [e.decode() for e, _ in redis_client.xrange(stream)] == ids[2:]
    queue.ack([taken[2], taken[5]])
    assert queue.trim(kept=0) == 4                       # up to the last read; the unread stay
    assert [e.decode() for e, _ in redis_client.xrange(stream)] == ids[6:]

    redis_client.xgroup_create(stream, "audit", id=ids[7])   # another group, further behind
    queue.read(4, None)
    queue.ack(ids[6:])
    assert queue.trim(kept=0) == 2                       # the other group still reads ids[8:]
    assert [e.decode() for e, _ in redis_client.xrange(stream)] == ids[8:]
    redis_client.xreadgroup("audit", "a1", {stream: ">"})
    assert queue.trim(kept=0) == 0                       # read by both, still pending in audit
    redis_client.xack(stream, "audit", *ids[8:])
    assert queue.trim(kept=1) == 1                       # acknowledged by all: the newest one kept
    assert [e.decode() for e, _ in redis_client.xrange(stream)] == ids[9:]


def test_the_stream_stays_bounded_through_ten_thousand_decisions(build, monkeypatch) -> None:
    """Decisions arrive in bursts of a thousand while a worker runs: once each burst is sent, the
    stream is back to the newest thousand — it never holds more than what is not yet acknowledged
    and those."""
    monkeypatch.setattr(worker_module, "TRIM_EVERY", 0.5)
    settings, app = build(senders_per_worker=32)
    bot, stream = app.extensions["wxbot"], Keys.of(settings).decisions()
    worker = Worker(settings, name="bounded:1")
    thread = threading.Thread(target=worker.run)
    thread.start()
    total, burst, lengths, longest = 10_000, 1000, [], 0
    try:
        for start in range(0, total, burst):
            for n in range(start, start + burst):
                bot.decisions.record(Decision(event_id=f"e{n}", kind="application.decided", application_id=f"A{n}",
                                              status="approved", decided_at="2026-11-22T08:00:00Z"), openid=f"o_{n}")
            longest = max(longest, bot.redis.xlen(stream))
            wait_for(lambda end=start + burst: template_calls(build.fake) >= end, timeout=120, interval=0.2)
            wait_for(lambda: bot.redis.xinfo_groups(stream)[0]["pending"] == 0, timeout=30)
            wait_for(lambda: bot.redis.xlen(stream) <= burst, timeout=5)   # the next trim
            lengths.append(bot.redis.xlen(stream))
    finally:
        worker.stop.set()
        thread.join(30)
    assert template_calls(build.fake) == total
    assert lengths == [burst] * (total // burst)      # the newest kept for operators (`wxbot binding decisions`)
    assert longest <= 2 * burst
    assert bot.redis.xinfo_groups(stream)[0]["name"].decode() == GROUP
    print(f"\nstream: at most {longest} entries while {total} decisions went through; {lengths[-1]} after each burst")
