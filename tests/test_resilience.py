"""Resilience, with every part a real process (tests/support/stack.py): Redis restarted and down,
the bureau slow and down, WeChat's API failing, a notification worker killed, four copies of
every message from fifty users at once, and one user flooding while the bureau is slow. Each test
measures what the user sees (reply times against WeChat's 5 s) and counts what happened
(applications, decisions, messages)."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.logs import configure_for, user_ref
from bot.simulator.wechat_side import WeChatSide
from bot.store import ledger
from flows import texts
from flows.domain.identity import mask_id_number, mask_name
from flows.texts import apologies
from tests.conftest import wait_for
from tests.support.redis_monitor import commands_sent
from tests.support.stack import Stack, bind_rows, families, timed, verify_rows

WECHAT_DEADLINE = 5.0
TEMPLATE_SEND = "/cgi-bin/message/template/send"
LOAD_USERS = 50
STEPS = 10    # messages in one binding, from 绑定家人 to 确认


@pytest.fixture(scope="module")
def stack(make_settings, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"), make_settings, families(LOAD_USERS + 20)).start()
    yield stack
    stack.stop()


def family_of(stack: Stack, n: int):
    """People 0..49 are the load test's; each other test has its own family."""
    return stack.people[LOAD_USERS + n]


def to_summary(user, family) -> None:
    user.play(verify_rows(family) + bind_rows(family))
    assert "承诺书" in user.image("media-hukou")
    user.play([("同意", "请核对")])


def one_notification(stack: Stack, openid: str, timeout: float = 20) -> dict:
    """Wait for the user's template message; there must be exactly one."""
    wait_for(lambda: stack.sent(openid, "template"), timeout=timeout)
    [message] = stack.sent(openid, "template")
    return message


# -- 1. Redis restarted mid-conversation -----------------------------------------------------------

def test_redis_killed_and_restarted_mid_binding_the_conversation_goes_on(stack) -> None:
    family, user = family_of(stack, 0), stack.user("o_redis_restart")
    user.play(verify_rows(family) + [("孙女", "姓名"), (family.child.name, "证件号码")])
    workers, old_pid = stack.webhook_workers(), stack.redis_pid()

    started = time.monotonic()
    stack.kill_redis()          # no shutdown, no final flush: only what fsync'd survives
    stack.redis.start()         # the same AOF
    restarted = time.monotonic() - started
    assert stack.redis_pid() != old_pid

    reply, first_reply = timed(lambda: user.say(family.child.id_number))
    assert "户口本" in reply, reply      # the ID number was taken at the ID step: nothing was lost
    assert "承诺书" in user.image("media-hukou")
    summary = user.say("同意")
    # The answers given before the restart, masked.
    assert "1. 关系：孙子女/外孙子女" in summary
    assert f"2. 姓名：{mask_name(family.child.name)}" in summary
    assert f"3. 身份证号码：{mask_id_number(family.child.id_number)}" in summary
    assert family.child.name not in summary and family.child.id_number not in summary
    assert "办理成功" in user.say("确认")

    assert len(stack.applications(family)) == 1
    one_notification(stack, user.openid)    # the worker came through the restart too
    assert stack.webhook_workers() == workers
    print(f"\nredis restart: down and up in {restarted:.2f}s, first reply after it {first_reply:.3f}s")


# -- 2. Redis down --------------------------------------------------------------------------------

OUTAGE = 4.0   # seconds of Redis down, with messages arriving all the while


@pytest.mark.parametrize("outage", ["killed", "frozen"])
def test_redis_down_every_message_gets_busy_in_time_and_the_service_recovers(stack, outage) -> None:
    """killed: connections refused; frozen (SIGSTOP, like a partition or a stuck fsync): every
    command hangs until the client's timeout."""
    n = 1 if outage == "killed" else 6
    people = [family_of(stack, n + i) for i in range(4)]
    users = [stack.user(f"o_redis_{outage}_{i}") for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda pair: pair[0].play(verify_rows(pair[1])), zip(users, people, strict=False)))
    workers, pid = stack.webhook_workers(), stack.redis_pid()

    if outage == "killed":
        stack.kill_redis()
    else:
        os.kill(pid, signal.SIGSTOP)
    down = time.monotonic()
    try:
        # Four users at once, then one of them again and again until the outage is over.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda u: timed(lambda: u.say("孙女")), users))
        while time.monotonic() - down < OUTAGE:
            answers.append(timed(lambda: users[0].say("孙女")))
            time.sleep(0.05)    # a user typing fast, not a flood
        health, health_time = timed(lambda: requests.get(f"{stack.url}/healthz", timeout=10))
    finally:
        if outage == "killed":
            stack.redis.start()
        else:
            os.kill(pid, signal.SIGCONT)
    back = time.monotonic()

    replies, times = [reply for reply, _ in answers], [elapsed for _, elapsed in answers]
    assert replies == [apologies.BUSY] * len(answers)
    assert max(times) < WECHAT_DEADLINE
    assert (health.status_code, health.json()) == (503, {"status": "degraded", "redis": "down"})
    assert health_time < WECHAT_DEADLINE

    # Back: no restart of the webhook; each conversation is where it was (the relationship question).
    with ThreadPoolExecutor(4) as pool:
        recovered = list(pool.map(lambda u: timed(lambda: u.say("孙女")), users))
    recovery = time.monotonic() - back
    locks = [stack.client.pttl(stack.keys.user_lock(u.openid)) for u in users]
    assert all("请输入这位家人的姓名" in reply for reply, _ in recovered), (
        f"after the outage: {recovered}; the users' locks expire in {locks} ms")
    assert requests.get(f"{stack.url}/healthz", timeout=5).json() == {"status": "ok", "redis": "ok"}
    assert stack.webhook_workers() == workers

    # And the rest of the way, down to the notification — whose first send fails, so that it
    # takes the worker's delayed retry too — works as before.
    users[0].play([(people[0].child.name, "证件号码"), (people[0].child.id_number, "户口本")])
    assert "承诺书" in users[0].image("media-hukou")
    stack.fail_wechat([{"status": 502, "path": "template/send"}])
    users[0].play([("同意", "请核对"), ("确认", "办理成功")])
    one_notification(stack, users[0].openid, timeout=40)
    print(f"\nredis {outage} {back - down:.1f}s: {len(answers)} busy replies in {min(times):.3f}–{max(times):.3f}s, "
          f"/healthz {health_time:.3f}s, all four users answered {recovery:.3f}s after it was back")


# -- 3. The binding service slow or down ----------------------------------------------------------

def test_bureau_slower_than_the_deadline_the_answer_follows_and_one_application_exists(stack) -> None:
    """The bureau hangs for 5 s: the request answers `success` in time, the bot's retry gets
    the answer, and it reaches the user as a customer-service message."""
    family, user = family_of(stack, 11), stack.user("o_bureau_slow")
    to_summary(user, family)

    stack.signal_sandbox(signal.SIGSTOP)
    resume = threading.Timer(5.0, stack.signal_sandbox, args=(signal.SIGCONT,))
    resume.start()
    try:
        sent_at = time.monotonic()
        reply, elapsed = timed(lambda: user.say("确认"))
        late = wait_for(lambda: stack.sent(user.openid, "custom"), timeout=20)
        answered = time.monotonic() - sent_at
    finally:
        resume.join()
        stack.signal_sandbox(signal.SIGCONT)

    assert reply == ""      # `success`: WeChat shows nothing and waits for the message
    assert elapsed < WECHAT_DEADLINE
    [message] = late
    assert "办理成功" in message["text"]["content"]
    assert len(stack.applications(family)) == 1     # the timed-out attempt and its retry: one
    one_notification(stack, user.openid)
    print(f"\nbureau slow: `success` after {elapsed:.2f}s, the answer by customer-service message "
          f"{answered:.1f}s after the message")


def test_bureau_hung_past_every_retry_then_working_through_its_backlog_one_application(stack) -> None:
    """The bureau hangs longer than the bot waits (3 attempts), then processes the requests that
    queued up: the user is told to try again; their retry finds the same application."""
    family, user = family_of(stack, 12), stack.user("o_bureau_hung")
    to_summary(user, family)

    stack.signal_sandbox(signal.SIGSTOP)
    try:
        sent_at = time.monotonic()
        reply, elapsed = timed(lambda: user.say("确认"))
        [late] = wait_for(lambda: stack.sent(user.openid, "custom"), timeout=30)
        told = time.monotonic() - sent_at
    finally:
        stack.signal_sandbox(signal.SIGCONT)

    assert reply == "" and elapsed < WECHAT_DEADLINE
    assert "医保系统繁忙" in late["text"]["content"] and "重试" in late["text"]["content"]
    # The bureau works through the three attempts that queued up: one application (one key),
    # approved at once (a minor), and its callback comes within a second or two — before the
    # user, reading "try again", tries again.
    [application_id] = wait_for(lambda: stack.applications(family), timeout=10)
    decided = lambda: [owner for _, d, owner in stack.decisions() if d.application_id == application_id]  # noqa: E731 - a condition to wait for, named
    # The decision comes before the bot knows whose application it is: it waits, unclaimed.
    wait_for(lambda: stack.client.exists(stack.keys.unclaimed_decisions(application_id)), timeout=15)
    assert decided() == []
    assert "办理成功" in user.say("重试")
    assert stack.applications(family) == [application_id]
    # Whom the decision notifies, and whether the bot still counts it as undecided (the reconciler
    # would ask the bureau about it every round, for ever).
    still_pending = stack.client.zscore(stack.keys.pending_applications(), application_id) is not None
    assert (decided(), still_pending) == ([user.openid], False)
    one_notification(stack, user.openid)
    print(f"\nbureau hung: `success` after {elapsed:.2f}s, 'try again' {told:.1f}s after the message")


def test_bureau_down_the_user_is_told_at_once_and_their_retry_submits_once(stack) -> None:
    family, user = family_of(stack, 13), stack.user("o_bureau_down")
    to_summary(user, family)

    stack.kill_sandbox()
    try:
        reply, elapsed = timed(lambda: user.say("确认"))
    finally:
        stack.start_sandbox()
    assert reply.startswith("医保系统繁忙，请稍后再试。您填写的内容已保存。") and texts.RETRY_PROMPT in reply
    assert elapsed < WECHAT_DEADLINE
    assert stack.applications(family) == []    # nothing reached the bureau

    assert "办理成功" in user.say("重试")
    assert "办理成功" not in user.say("重试")   # an impatient second retry: the flow is over
    assert len(stack.applications(family)) == 1
    one_notification(stack, user.openid)
    print(f"\nbureau down: 'try again' inline after {elapsed:.3f}s")


# -- 4. WeChat's API failing ----------------------------------------------------------------------

def test_wechat_api_failing_for_a_while_delays_notifications_and_loses_none(stack) -> None:
    people = [family_of(stack, 14 + i) for i in range(3)]
    users = [stack.user(f"o_wechat_down_{i}") for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(to_summary, users, people))
    calls_before = stack.fake_calls(TEMPLATE_SEND)

    # 3 s of HTTP 503, then WeChat busy (-1) until 6 s. (The quota, 45009, is no blip: sends wait
    # for its reset, tests/test_notification_errors.py.)
    outage_ends = time.time() + 6     # taken first: the fake's own end is a moment later
    stack.fail_wechat([{"status": 503, "path": "template/send", "seconds": 3},
                       {"errcode": -1, "path": "template/send", "seconds": 6}])
    with ThreadPoolExecutor(3) as pool:
        assert all("办理成功" in reply for reply in pool.map(lambda u: u.say("确认"), users))

    # During the outage: attempts are made and fail; nothing reaches the users.
    wait_for(lambda: stack.fake_calls(TEMPLATE_SEND) >= calls_before + 6, timeout=10)
    assert time.time() < outage_ends, "the outage ended before the attempts were observed"
    assert all(stack.sent(u.openid, "template") == [] for u in users)

    delays = [one_notification(stack, u.openid, timeout=40)["at"] - outage_ends for u in users]
    assert min(delays) > 0      # none got through the outage
    ids = set()
    for user in users:
        [(entry_id, _, _)] = stack.decisions(user.openid)
        record = stack.notification(entry_id)
        assert record["status"] == "sent" and int(record["attempts"]) >= 3, record
        ids.add(entry_id.replace("-", ""))
    errors = {e["error"] for e in stack.events("worker", "notification_failed") if e["notification_id"] in ids}
    assert errors == {"HTTP 503", "-1: WeChat is busy"}
    assert stack.client.zcard(stack.keys.notification_dead()) == 0    # no dead letters
    print(f"\nwechat down 6s: {stack.fake_calls(TEMPLATE_SEND) - calls_before} template calls for 3 decisions; "
          f"delivered {min(delays):.1f}–{max(delays):.1f}s after the outage ended")


# -- 5. A notification worker killed mid-send -----------------------------------------------------

def test_a_worker_killed_mid_send_leaves_exactly_one_message(stack) -> None:
    family, user = family_of(stack, 17), stack.user("o_worker_killed")
    to_summary(user, family)
    calls = stack.fake_calls(TEMPLATE_SEND)
    # WeChat takes 2 s to answer: the worker is killed while it waits, after WeChat got the message.
    stack.fail_wechat([{"delay": 2, "path": "template/send"}])
    assert "办理成功" in user.say("确认")
    wait_for(lambda: stack.fake_calls(TEMPLATE_SEND) == calls + 1, timeout=20)
    [(entry_id, _, _)] = stack.decisions(user.openid)
    notification_id = entry_id.replace("-", "")
    assert stack.client.exists(stack.keys.notification_claim(notification_id))   # the worker's, mid-send
    stack.kill_worker()
    killed = time.monotonic()

    wait_for(lambda: stack.sent(user.openid, "template"), timeout=10)   # WeChat got the dead worker's send
    assert stack.notification(entry_id)["status"] == "queued"           # ...which the worker never learnt
    assert stack.pending(entry_id)                                        # its entry: taken, not acknowledged
    # Another worker takes the entry over once it has been idle `notifications.reclaim_after` (5 s
    # here; 60 s by default) and the dead worker's claim on the notification has run out as long.
    stack.start_worker()
    wait_for(lambda: stack.notification(entry_id)["attempts"] == "2", timeout=30)
    wait_for(lambda: stack.notification(entry_id)["status"] == "sent", timeout=10)
    taken_over = time.monotonic() - killed
    assert stack.fake_calls(TEMPLATE_SEND) == calls + 2    # it ran again...
    assert len(stack.sent(user.openid, "template")) == 1   # ...and WeChat dropped the repeat (client_msg_id)
    wait_for(lambda: not stack.pending(entry_id), timeout=5)
    print(f"\nworker killed mid-send: sent again by another {taken_over:.1f}s later, dropped by WeChat as a repeat")


# -- 6. Four copies of every message, fifty users at once -----------------------------------------

def four_copies(side: WeChatSide, url: str, xml: str, openid: str) -> list[tuple[str, float]]:
    """One message delivered four times, as WeChat does when answers are slow or lost: two at
    once, one a moment later, one after the first answer came back. (body, seconds) each."""
    deliveries = [side.deliver(xml, openid) for _ in range(4)]
    results: list[tuple[str, float] | None] = [None] * 4
    first_answered = threading.Event()

    def send(i: int, wait: float) -> None:
        if i == 3:
            first_answered.wait(15)
        time.sleep(wait)
        started = time.monotonic()
        response = side.post(url, deliveries[i], timeout=30)
        assert response.status_code == 200
        results[i] = (response.text, time.monotonic() - started)
        if i == 0:
            first_answered.set()

    threads = [threading.Thread(target=send, args=(0, 0)), threading.Thread(target=send, args=(1, 0)),
               threading.Thread(target=send, args=(2, random.uniform(0.05, 0.4))),
               threading.Thread(target=send, args=(3, random.uniform(0, 0.2)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results), "a copy got no answer"
    return results


def test_four_copies_of_every_message_from_fifty_users_at_once(stack) -> None:
    side = WeChatSide(stack.settings.wechat)   # safe mode, like production
    people = stack.people[:LOAD_USERS]
    openids = [f"o_load_{i}" for i in range(LOAD_USERS)]
    timings: list[float] = []
    mismatches: list[str] = []

    def converse(i: int) -> int:
        family, openid = people[i], openids[i]
        steps = [(side.text_xml(openid, said), expected) for said, expected in verify_rows(family) + bind_rows(family)]
        steps.append((side.image_xml(openid, f"media-{i}", "http://x/p.jpg"), "承诺书"))
        steps += [(side.text_xml(openid, said), expected) for said, expected in [("同意", "请核对"), ("确认", "办理成功")]]
        for xml, expected in steps:
            copies = four_copies(side, stack.url, xml, openid)
            bodies = {body for body, _ in copies}
            timings.extend(elapsed for _, elapsed in copies)
            content = side.open_reply(copies[0][0]).get("Content", "")
            if len(bodies) != 1 or expected not in content:
                mismatches.append(f"{openid}: expected {expected!r}, copies {[side.open_reply(b).get('Content') for b in bodies]}")
                return 0
        return len(steps)

    before = len(stack.decisions())
    started = time.monotonic()
    with ThreadPoolExecutor(LOAD_USERS) as pool:
        deliveries = sum(pool.map(converse, range(LOAD_USERS)))
    took = time.monotonic() - started

    assert mismatches == []
    assert max(timings) < WECHAT_DEADLINE, f"slowest copy {max(timings):.2f}s"
    # Each delivery processed once, whichever copies and processes it met.
    configure_for(stack.settings)
    refs = {user_ref(openid) for openid in openids}
    processed = lambda: [e for e in stack.events("webhook", "processed") if e["user_ref"] in refs]  # noqa: E731 - a condition to wait for, named
    wait_for(lambda: len(processed()) >= deliveries, timeout=10)
    # One application per binding, one decision each (for the right user), one message each.
    applications = {openid: stack.applications(family) for family, openid in zip(people, openids, strict=False)}
    assert all(len(ids) == 1 for ids in applications.values()), applications
    wait_for(lambda: len(stack.decisions()) >= before + LOAD_USERS, timeout=30)   # the bureau's callbacks
    owners = {d.application_id: owner for _, d, owner in stack.decisions()}
    assert {openid: owners.get(ids[0]) for openid, ids in applications.items()} == {o: o for o in openids}
    for openid in openids:
        one_notification(stack, openid, timeout=60)
        assert stack.sent(openid, "custom") == []     # every answer went inline
    assert len(processed()) == deliveries == LOAD_USERS * STEPS
    assert [e for e in stack.events("webhook", "deadline_fallback") if e["user_ref"] in refs] == []
    print(f"\nload: {LOAD_USERS} users x {STEPS} messages x 4 copies in {took:.1f}s; reply times "
          f"median {statistics.median(timings):.3f}s, p95 {statistics.quantiles(timings, n=20)[-1]:.3f}s, "
          f"max {max(timings):.3f}s")


# -- 7. One user floods while the bureau is slow ---------------------------------------------------

FLOOD, AT_ONCE = 192, 64     # one user's messages, and how many at once
BUREAU_SECONDS = 2.0         # each call to the bureau, during the flood
AFTER = 5.0                  # seconds measured after the flooder's last message was answered
OTHERS = 8                   # other users, each saying 你好 every 0.8 s


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def script_calls(commands: list[str], script: str, key_at: int) -> list[str]:
    """The keys at `key_at` (after EVALSHA, sha, numkeys) of one Lua script's calls, in the order Redis ran them."""
    sha = hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
    return [parts[key_at] for parts in (c.split(" ") for c in commands)
            if parts[0].upper() == "EVALSHA" and parts[1].strip('"') == sha]


def test_one_user_flooding_while_the_bureau_is_slow_leaves_the_others_fast(stack) -> None:
    """One user sends 192 messages, 64 at once, each asking the bureau (2 s a call); other users say
    你好 all the while and after. The flood takes one handler thread; its excess is told to slow
    down at once; its admitted messages are answered in order; the others' replies stay fast."""
    family, flooder = family_of(stack, 18), stack.user("o_flood")
    flooder.play(verify_rows(family))                    # verified: 查进度 asks the bureau
    idle = stack.user("o_calm").say("你好")
    assert idle
    side, webhook = flooder.side, stack.settings.webhook
    keys = {stack.keys.delivery("o_flood", f"msg|o_flood|{800000 + i}"): i for i in range(FLOOD)}
    results: list[tuple[str, float] | None] = [None] * FLOOD
    calm_answers: dict[str, list[tuple[str, float]]] = {"during": [], "after": []}
    phase = ["during"]
    stop = threading.Event()

    def send(i: int) -> None:
        xml = side.text_xml("o_flood", "查进度", msg_id=800000 + i)
        started = time.monotonic()
        response = side.post(stack.url, side.deliver(xml, "o_flood"), timeout=30)
        results[i] = (side.open_reply(response.text).get("Content", ""), time.monotonic() - started)

    def keep_saying_hello(k: int) -> None:
        for n in itertools.count():
            if stop.wait(random.uniform(0.7, 0.9)):
                return
            # A new user every 20 messages: a person, not a flood, however long this takes.
            user = stack.user(f"o_calm_{k}_{n // 20}")
            calm_answers[phase[0]].append(timed(lambda user=user: user.say("你好")))

    stack.slow_bureau(BUREAU_SECONDS)
    try:
        with commands_sent(stack.client, exclude=(":sandbox:",)) as commands:
            talkers = [threading.Thread(target=keep_saying_hello, args=(k,)) for k in range(OTHERS)]
            for talker in talkers:
                talker.start()
            flood_started = time.monotonic()
            with ThreadPoolExecutor(AT_ONCE) as pool:
                list(pool.map(send, range(FLOOD)))
            answered_in = time.monotonic() - flood_started
            # The flooder's admitted messages are worked one after the other: the flood is over
            # when their queue is empty and their lock released.
            wait_for(lambda: not stack.client.exists(stack.keys.user_lock("o_flood"),
                                                     stack.keys.user_queue("o_flood")), timeout=60)
            worked_in = time.monotonic() - flood_started
            phase[0] = "after"
            time.sleep(AFTER)
            stop.set()
            for talker in talkers:
                talker.join()
    finally:
        stack.slow_bureau(0)

    too_fast = [i for i, (reply, _) in enumerate(results) if reply.startswith(apologies.TOO_FAST.split("{")[0])]
    too_many = [i for i, (reply, _) in enumerate(results) if reply == apologies.TOO_MANY_WAITING]
    limited = too_fast + too_many
    admitted = [i for i in range(FLOOD) if i not in limited]
    inline = [i for i in admitted if results[i][0]]
    # The excess was answered at once, with the text that says when to send again.
    assert len(admitted) <= 1 + webhook.user_queue_max + 2, admitted
    assert max(results[i][1] for i in limited) < 1.0
    # Every admitted message was answered once: in time, or (its turn came later) by customer-service message.
    assert all("申请" in results[i][0] for i in inline), [results[i][0] for i in inline]
    late = wait_for(lambda: len(stack.sent("o_flood", "custom")) >= len(admitted) - len(inline) and
                    stack.sent("o_flood", "custom"), timeout=30)
    assert len(late) == len(admitted) - len(inline)
    assert all("申请" in message["text"]["content"] for message in late)
    # In order: the flooder's messages were finished in the order they were admitted.
    admitted_keys = {key for key, i in keys.items() if i in admitted}
    order = lambda calls: list(dict.fromkeys(k for k in calls if k in admitted_keys))  # noqa: E731 - a condition to wait for, named
    admitted_order = order(script_calls(commands, ledger._ADMIT, 3))
    assert len(admitted_order) == len(admitted)
    assert order(script_calls(commands, ledger._FINISH, 3)) == admitted_order
    # The other users: every 你好 answered as a passive reply, fast, during the flood and after.
    for name, answers in calm_answers.items():
        assert [reply for reply, _ in answers] == [idle] * len(answers), name
    figures = {name: (len(answers), statistics.median(e for _, e in answers), percentile([e for _, e in answers], 99),
                      max(e for _, e in answers)) for name, answers in calm_answers.items()}
    assert figures["during"][2] < 1.5 and figures["after"][2] < 1.0, figures
    print(f"\nflood: {FLOOD} messages ({AT_ONCE} at once), the bureau {BUREAU_SECONDS:.0f} s a call; all answered "
          f"in {answered_in:.1f}s: {len(limited)} limited ({len(too_many)} queue full, {len(too_fast)} over the rate; "
          f"each answered in ≤{max(results[i][1] for i in limited):.3f}s), {len(admitted)} admitted and worked in "
          f"order by {worked_in:.1f}s ({len(inline)} answered inline, {len(late)} by customer-service message); "
          + "; ".join(f"{OTHERS} other users {name}: {n} replies, p50 {p50:.3f}s, p99 {p99:.3f}s, max {top:.3f}s"
                      for name, (n, p50, p99, top) in figures.items()))
