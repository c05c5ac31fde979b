"""The router and the conversation handler on in-memory stores (tests/support/memory.py): what
they decide, with no Redis, no HTTP and no bureau — each test in milliseconds."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.simulator.wechat_side import WeChatSide
from bot.webhook.inbound import parse_inbound
from flows import texts
from flows.catalog import ENGINE
from handlers.conversation import Conversations
from handlers.reply import NoReply, Text
from handlers.router import Router
from tests.support.binding import person
from tests.support.memory import MemoryDrafts, MemoryIdentities, MemoryNotices, ScriptedBureau, StaleDraft

GRANDPA, WIFE = person("王建国"), person("李秀英")


class World:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.settings = load_settings(None, wechat={"appid": "wx1", "token": "tok123"},
                                      conversation={"secret_key": "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="})
        self.drafts, self.notices = MemoryDrafts(), MemoryNotices()
        self.identities = MemoryIdentities(clock=lambda: self.now)
        self.bureau = ScriptedBureau(people={GRANDPA.id_number: ("P1", GRANDPA.name)})
        self.followed, self.milestones = [], []
        self.conversations = Conversations(self.drafts, self.identities, self.bureau,
                                           lambda *args: self.followed.append(args[1]), self.settings,
                                           count_milestones=self.milestones.extend, clock=lambda: self.now)
        self.router = Router(self.conversations, self.notices)
        self.side = WeChatSide(self.settings.wechat)

    def say(self, text: str, openid: str = "o_grandpa") -> str:
        reply = self.router(parse_inbound(self.side.text_xml(openid, text)))
        return reply.content if isinstance(reply, Text) else ""

    def event(self, event: str, openid: str = "o_grandpa", key: str = ""):
        return self.router(parse_inbound(self.side.event_xml(openid, event, key=key)))


def title(world: World) -> str:
    """The title of the user's flow in progress (verification comes first here)."""
    return ENGINE.flows[world.drafts.load("o_grandpa")[0].flow].title


@pytest.fixture
def world() -> World:
    return World()


def test_a_whole_binding_in_memory(world: World) -> None:
    assert "绑定家人" in world.event("subscribe").content
    assert "身份" in world.say("绑定家人")
    world.say(GRANDPA.name)
    assert "验证码" in world.say(GRANDPA.id_number)
    assert "1. 配偶" in world.say("123456")
    for answer in ("老伴", WIFE.name, WIFE.id_number, "同意"):
        world.say(answer)
    assert "办理成功" in world.say("确认")
    assert world.bureau.calls == ["start_verification", "complete_verification", "eligibility", "submit_application"]
    assert world.followed[-1] == "submit_application"             # the decision is waited for
    assert world.identities.links["o_grandpa"]["person_id"] == "P1"
    assert [m.kind for m in world.milestones].count("completed") == 2   # verify, then bind_member
    assert not world.drafts.load("o_grandpa")[0].active


def test_back_after_the_idle_window_the_user_is_asked_to_go_on_or_start_again(world: World) -> None:
    world.say("绑定家人")
    world.say(GRANDPA.name)
    world.now += world.settings.conversation.idle_minutes * 60 + 1
    assert world.say(GRANDPA.id_number) == texts.RESUME_QUESTION.format(title=title(world))
    assert world.bureau.calls == []   # the ID number typed after the break was not acted on


def test_unfollowing_forgets_the_draft_and_the_identity(world: World) -> None:
    world.identities.links["o_grandpa"] = {"person_id": "P1", "id_digest": "d", "verified_at": world.now}
    world.say("绑定家人")
    assert world.drafts.load("o_grandpa")[0].active
    assert isinstance(world.event("unsubscribe"), NoReply)
    assert "o_grandpa" not in world.drafts.drafts and "o_grandpa" not in world.identities.links


def test_waiting_notices_come_first_and_only_once(world: World) -> None:
    world.notices.waiting["o_grandpa"] = ["【办理结果】已通过"]
    first, second = world.say("你好"), world.say("你好")
    assert first.startswith("【办理结果】已通过\n\n") and "【办理结果】" not in second


def test_an_answer_click_leaves_the_flow_where_it_is(world: World) -> None:
    world.say("绑定家人")
    step = world.drafts.load("o_grandpa")[0].step
    reply = world.event("CLICK", key="HOTLINE").content
    assert texts.STILL_OPEN.format(title=title(world)) in reply
    assert world.drafts.load("o_grandpa")[0].step == step


def test_a_delivery_report_is_recorded_and_answered_with_nothing(world: World) -> None:
    xml = world.side.event_xml("o_grandpa", "TEMPLATESENDJOBFINISH").replace(
        "</xml>", "<MsgID>42</MsgID><Status><![CDATA[success]]></Status></xml>")
    assert isinstance(world.router(parse_inbound(xml)), NoReply)
    assert world.notices.reports == [("42", "success")]


def test_a_draft_saved_meanwhile_by_another_writer_is_not_overwritten(world: World) -> None:
    world.say("绑定家人")
    read_before = world.drafts.load("o_grandpa")
    world.drafts.save("o_grandpa", *read_before)   # another writer (whose lock had expired) saved first
    theirs = world.drafts.drafts["o_grandpa"]
    world.drafts.load = lambda openid, session=None: read_before   # this message had read the older draft
    with pytest.raises(StaleDraft):                 # the webhook answers 系统繁忙 (bot/webhook/processing.py)
        world.say(GRANDPA.name)
    assert world.drafts.drafts["o_grandpa"] == theirs
