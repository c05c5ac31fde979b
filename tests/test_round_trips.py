"""How many Redis round trips one message costs, counted by the Redis server itself (MONITOR):
a step in a conversation at most 3 (admission with the user's lock and records, the
conversation's save, the lock's release with the reply's record), a message with no conversation 2."""

from __future__ import annotations

import pytest

from bot.app import create_app
from bot.simulator.wechat_side import WeChatSide
from bot.store.keys import Keys
from tests.conftest import APPID, wait_for
from tests.support.chat import CODE, verify_rows
from tests.support.redis_monitor import commands_sent, round_trips
from tests.support.webhook import Webhook

OPENID = "o_round_trips"


@pytest.fixture
def hook(make_settings, redis_client):
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    return Webhook(create_app(settings), WeChatSide(settings.wechat))


def say(hook: Webhook, text: str) -> str:
    return hook.say(text, OPENID).get("Content", "")


def click(hook: Webhook, key: str, create_time: int) -> str:
    response = hook.send(hook.side.event_xml(OPENID, "CLICK", key=key, create_time=create_time), OPENID)
    return hook.side.open_reply(response.text).get("Content", "")


def counted(redis_client, action) -> tuple[str, list[str]]:
    # The reply leaves before the lock's release: wait for it, so that each message's last
    # round trip is counted with that message.
    lock = Keys("wxbot", APPID).user_lock(OPENID)
    released = lambda: not redis_client.exists(lock)  # noqa: E731 - a condition to wait for, named
    wait_for(released)
    # The in-process sandbox keeps its records in the same Redis: not the webhook's cost.
    with commands_sent(redis_client, exclude=(":sandbox:", f"EXISTS {lock}")) as commands:
        answer = action()
        wait_for(released)
    return answer, commands


def verified_at_relationship(hook: Webhook) -> None:
    assert "先验证一下您的身份" in click(hook, "BIND_MEMBER", 1_700_000_000)
    for said, expected in verify_rows("王建国"):
        assert expected in say(hook, said)
    assert "家人是您的" in say(hook, CODE)


def test_a_step_in_a_conversation_costs_three_round_trips(hook, redis_client):
    verified_at_relationship(hook)
    answer, commands = counted(redis_client, lambda: say(hook, "配偶"))
    assert "姓名" in answer
    assert round_trips(commands) <= 3, "\n".join(c[:90] for c in commands)
    answer, commands = counted(redis_client, lambda: say(hook, "上一步"))
    assert "家人是您的" in answer
    assert round_trips(commands) <= 3, "\n".join(c[:90] for c in commands)


def test_a_wrong_answer_costs_three_round_trips(hook, redis_client):
    verified_at_relationship(hook)
    answer, commands = counted(redis_client, lambda: say(hook, "隔壁老王"))
    assert "没看懂这位家人" in answer
    assert round_trips(commands) <= 3, "\n".join(c[:90] for c in commands)


def test_a_menu_answer_outside_any_flow_costs_two(hook, redis_client):
    answer, commands = counted(redis_client, lambda: click(hook, "HOTLINE", 1_700_000_100))
    assert "12393" in answer
    assert round_trips(commands) <= 2, "\n".join(c[:90] for c in commands)
    answer, commands = counted(redis_client, lambda: say(hook, "你好"))
    assert answer
    assert round_trips(commands) <= 2, "\n".join(c[:90] for c in commands)
