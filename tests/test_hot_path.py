"""Where a message's step runs: on the request thread when it can only answer from memory, on a
handler thread (within the deadline's guarantee) as soon as it would call the bureau or Redis
beyond the message's session — without running anything of it twice."""

from __future__ import annotations

import threading

import pytest

from bot.app import create_app
from bot.simulator.wechat_side import WeChatSide
from bot.store.session import Session, calling_out, calls_out, once_saved
from tests.support.chat import CODE, verify_rows
from tests.support.webhook import Webhook

OPENID = "o_hot_path"


@pytest.fixture
def hook(make_settings, redis_client):
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


def say(hook: Webhook, text: str) -> str:
    return hook.say(text, OPENID).get("Content", "")


def click(hook: Webhook, key: str, create_time: int) -> str:
    response = hook.send(hook.side.event_xml(OPENID, "CLICK", key=key, create_time=create_time), OPENID)
    return hook.side.open_reply(response.text).get("Content", "")


@pytest.fixture
def threads(hook):
    """Which thread each message's route ran on, and each call to the bureau."""
    processor = hook.app.extensions["wxbot"].processor
    conversations = processor.route.conversations
    seen: dict[str, list[str]] = {"route": [], "bureau": []}
    route, run_effect = processor.route, conversations.run_effect

    def routed(inbound, session):
        seen["route"].append(threading.current_thread().name)
        return route(inbound, session)

    def bureau(effect, openid, person_id, *, session=None):
        calling_out(session)   # as the wired one does: nothing reaches the bureau from the request thread
        seen["bureau"].append(threading.current_thread().name)
        return run_effect(effect, openid, person_id, session=session)

    processor.route, conversations.run_effect = routed, bureau
    return seen


def test_a_step_that_calls_no_bureau_runs_on_the_request_thread(hook, threads):
    request_thread = threading.current_thread().name
    assert "先验证一下您的身份" in click(hook, "BIND_MEMBER", 1_700_000_000)
    assert "身份证号码" in say(hook, "王建国")
    assert threads == {"route": [request_thread, request_thread], "bureau": []}


def test_a_step_that_calls_the_bureau_is_handed_to_a_handler_thread_before_it_does(hook, threads):
    assert "先验证一下您的身份" in click(hook, "BIND_MEMBER", 1_700_000_000)
    for said, expected in verify_rows("王建国"):
        assert expected in say(hook, said)
    request_thread = threading.current_thread().name
    # The ID number starts the verification (an SMS): tried here, handed over before the call.
    assert threads["route"][-2:] == [request_thread, threads["bureau"][0]]
    assert len(threads["bureau"]) == 1 and threads["bureau"][0].startswith("wxbot-handler")
    # The code is checked at the bureau too (and what follows it): the same, each call made once.
    assert "家人是您的" in say(hook, CODE)
    assert threads["route"][-2:] == [request_thread, threads["bureau"][1]]
    assert all(name.startswith("wxbot-handler") for name in threads["bureau"])
    calls = len(threads["bureau"])
    assert "姓名" in say(hook, "配偶")
    assert threads["route"][-1] == request_thread and len(threads["bureau"]) == calls


def test_an_attempt_handed_over_leaves_nothing_behind():
    """What waits for the draft's record, and the record itself, belong to the attempt: a
    hand-over drops them with it, and the handler thread starts from the records as admitted."""
    admitted = Session("o_user", 3, b"{}", None, 0)
    attempt = admitted.attempt()
    counted: list[str] = []
    once_saved(counted.append)("milestone", session=attempt)
    attempt.conversation_rev, attempt.conversation_state = 4, b"changed"
    with pytest.raises(BaseException) as raised:
        calls_out(lambda: counted.append("called"))(session=attempt)
    assert type(raised.value).__name__ == "HandOver" and counted == []
    assert (admitted.conversation_rev, admitted.conversation_state, admitted.inline) == (3, b"{}", False)
    # On a handler thread: nothing stops it, and what waits for the record runs once it is kept.
    once_saved(counted.append)("milestone", session=admitted)
    calls_out(lambda: counted.append("called"))(session=admitted)
    assert counted == ["called"]
    admitted.saved()
    assert counted == ["called", "milestone"]
    once_saved(counted.append)("outside a message")   # no message: at once
    assert counted[-1] == "outside a message"
