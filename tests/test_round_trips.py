"""How many Redis round trips one message costs, counted by the Redis server itself (MONITOR):
a step in a conversation that calls no bureau 2 — the admission with the user's lock and records,
and the reply's record with the draft's write and the lock's release — and a message with no
conversation 2. And that folding the draft's write into the reply's record keeps its revision
check: a draft another writer changed meanwhile is never overwritten."""

from __future__ import annotations

import threading

import pytest

from bot.app import create_app
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from flows.texts import apologies
from tests.conftest import APPID, wait_for
from tests.support.chat import CODE, verify_rows
from tests.support.redis_monitor import commands_sent, round_trips
from tests.support.webhook import Webhook

OPENID = "o_round_trips"
KEYS = Keys("wxbot", APPID)


@pytest.fixture
def hook(make_settings, redis_client):
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


def say(hook: Webhook, text: str, openid: str = OPENID) -> str:
    return hook.say(text, openid).get("Content", "")


def click(hook: Webhook, key: str, create_time: int, openid: str = OPENID) -> str:
    response = hook.send(hook.side.event_xml(openid, "CLICK", key=key, create_time=create_time), openid)
    return hook.side.open_reply(response.text).get("Content", "")


def counted(redis_client, action) -> tuple[str, list[str]]:
    # The lock is released by the reply's record: wait for it, so that each message's last
    # round trip is counted with that message.
    lock = KEYS.user_lock(OPENID)
    released = lambda: not redis_client.exists(lock)  # noqa: E731 - a condition to wait for, named
    wait_for(released)
    # The in-process sandbox keeps its records in the same Redis: not the webhook's cost.
    with commands_sent(redis_client, exclude=(":sandbox:", f"EXISTS {lock}")) as commands:
        answer = action()
        wait_for(released)
    return answer, commands


def verified_at_relationship(hook: Webhook, openid: str = OPENID) -> None:
    assert "先验证一下您的身份" in click(hook, "BIND_MEMBER", 1_700_000_000, openid)
    for said, expected in verify_rows("王建国"):
        assert expected in say(hook, said, openid)
    assert "家人是您的" in say(hook, CODE, openid)


def draft(hook: Webhook, openid: str = OPENID):
    """The draft as stored in Redis (read outside any message)."""
    return hook.app.extensions["wxbot"].processor.route.conversations.store.load(openid)


def test_a_step_that_calls_no_bureau_costs_two_round_trips(hook, redis_client):
    verified_at_relationship(hook)
    for said, expected, step in (("配偶", "姓名", "member_name"), ("上一步", "家人是您的", "relationship"),
                                 ("隔壁老王", "没看懂这位家人", "relationship")):
        rev = draft(hook)[1]
        answer, commands = counted(redis_client, lambda said=said: say(hook, said))
        assert expected in answer
        assert round_trips(commands) == 2, "\n".join(c[:90] for c in commands)
        assert [c.split(" ", 1)[0].upper() for c in commands] == ["EVALSHA", "EVALSHA"]
        conversation, new_rev = draft(hook)
        assert (conversation.step, new_rev) == (step, rev + 1)   # the draft was written, once


def test_a_menu_answer_outside_any_flow_costs_two(hook, redis_client):
    answer, commands = counted(redis_client, lambda: click(hook, "HOTLINE", 1_700_000_100))
    assert "12393" in answer
    assert round_trips(commands) == 2, "\n".join(c[:90] for c in commands)
    answer, commands = counted(redis_client, lambda: say(hook, "你好"))
    assert answer
    assert round_trips(commands) == 2, "\n".join(c[:90] for c in commands)


def test_a_draft_another_writer_changed_meanwhile_is_not_overwritten(hook, redis_client):
    """The user's lock expired under a slow step and another holder wrote the draft before this
    step's reply was recorded: the reply's record finds the revision changed and writes nothing of
    this step; the user is asked to say it again, the lock is released, WeChat's retry gets the same."""
    verified_at_relationship(hook)
    conversations = hook.app.extensions["wxbot"].processor.route.conversations
    load, key = conversations.store.load, KEYS.conversation(OPENID)
    overtaken: list[int] = []

    def load_then_overtaken(openid, session=None):
        conversation, rev = load(openid, session)
        if not overtaken:   # the other holder ended the draft meanwhile (on its own thread)
            overtaken.append(rev + 7)
            other = threading.Thread(target=redis_client.set, args=(key, f"{rev + 7}:"))
            other.start()
            other.join()
        return conversation, rev

    conversations.store.load = load_then_overtaken
    xml = hook.side.text_xml(OPENID, "配偶")
    first = hook.send(xml, OPENID)
    assert hook.side.open_reply(first.text)["Content"] == apologies.BUSY
    assert redis_client.get(key) == f"{overtaken[0]}:".encode()   # the other writer's, untouched
    assert not redis_client.exists(KEYS.user_lock(OPENID))
    retry = hook.send(xml, OPENID)   # WeChat's retry of the same message: the same answer
    assert hook.side.open_reply(retry.text)["Content"] == apologies.BUSY and len(overtaken) == 1


def test_notices_taken_for_a_reply_that_became_an_apology_are_shown_with_the_apology(hook, redis_client):
    """The same overtaken step, with news waiting for the user (a parked approval): the reply that
    was to carry it is replaced by 系统繁忙, and the news — already taken out of Redis — goes with
    the apology rather than nowhere."""
    from bot.store.notices import wait_for_user

    verified_at_relationship(hook)
    conversations = hook.app.extensions["wxbot"].processor.route.conversations
    load, key = conversations.store.load, KEYS.conversation(OPENID)

    def load_then_overtaken(openid, session=None):
        conversation, rev = load(openid, session)
        redis_client.set(key, f"{rev + 7}:")
        return conversation, rev

    wait_for_user(redis_client, KEYS, OPENID, "【办理结果】您为配偶 李** 办理的家庭共济已通过", 3600, "notify-parked")
    conversations.store.load = load_then_overtaken
    answer = hook.side.open_reply(hook.send(hook.side.text_xml(OPENID, "配偶"), OPENID).text)["Content"]
    assert answer == f"【办理结果】您为配偶 李** 办理的家庭共济已通过\n\n{apologies.BUSY}"
    assert not redis_client.exists(KEYS.pending_notices(OPENID))


def test_a_users_messages_at_once_each_write_the_draft_their_predecessor_left(hook, redis_client):
    """Six messages of one user at once: one holds the lock, the others queue (as many as may) and
    are worked one after the other, each read with the draft its predecessor's reply record wrote.
    No revision is refused, and the draft moved one revision per message."""
    verified_at_relationship(hook)
    rev = draft(hook)[1]
    answers: list[str] = []
    lock = threading.Lock()

    def send(text: str) -> None:
        answer = say(hook, text)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=("配偶" if n % 2 == 0 else "上一步",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6 and not {apologies.BUSY, apologies.ERROR, apologies.TOO_MANY_WAITING} & set(answers)
    wait_for(lambda: not redis_client.exists(KEYS.user_lock(OPENID)))
    assert draft(hook)[1] == rev + 6


def test_the_record_of_a_holder_whose_lock_expired_leaves_the_next_holders_draft(redis_client):
    """Two holders of one user's lock in turn, both having read revision 0: the first one's lock
    expired under a slow step. The second writes its draft; the first one's record is refused as a
    whole (no draft, no reply, no release), and its apology is recorded without a draft."""
    from bot.store.ledger import DeliveryLedger
    from bot.store.session import DraftWrite
    ledger = DeliveryLedger(redis_client, KEYS, nonce_ttl=60, lease=30, reply_ttl=60, lock_ttl=5)
    first = ledger.admit(KEYS.delivery("o_user", "one"), "o_user", entry="k1|x", wait=4)
    redis_client.delete(KEYS.user_lock("o_user"))   # expired under the first one's slow step
    second = ledger.admit(KEYS.delivery("o_user", "two"), "o_user", entry="k2|y", wait=4)
    third = ledger.admit(KEYS.delivery("o_user", "three"), "o_user", entry="k3|z", wait=4)
    assert first.records.conversation_rev == second.records.conversation_rev == 0 and third.queued
    done = ledger.finish(KEYS.delivery("o_user", "two"), "reply two", "o_user", second.lock_token,
                         draft=DraftWrite(0, 1, "second's", 60))
    assert not done.stale and done.work is not None    # the lock passed on to the third, with the draft read
    assert done.work.records.conversation_rev == 1 and done.work.records.conversation_state == b"second's"
    refused = ledger.finish(KEYS.delivery("o_user", "one"), "reply one", "o_user", first.lock_token,
                            draft=DraftWrite(0, 1, "first's", 60))
    assert refused.stale and refused.work is None
    assert redis_client.get(KEYS.conversation("o_user")) == b"1:second's"
    assert redis_client.hget(KEYS.delivery("o_user", "one"), "status") == b"pending"
    assert redis_client.get(KEYS.user_lock("o_user")).decode() == second.lock_token   # the third's turn, kept
    apology = ledger.finish(KEYS.delivery("o_user", "one"), "busy", "o_user", first.lock_token)
    assert apology.lock_expired and not apology.stale
    assert redis_client.hget(KEYS.delivery("o_user", "one"), "body") == b"busy"
    assert redis_client.get(KEYS.user_lock("o_user")).decode() == second.lock_token
