"""Whole conversations through the real /wechat endpoint, real Redis and the sandbox binding
service: tables of what the user says and what the bot answers."""

from __future__ import annotations

import re

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from bot.binding.factory import signing_key
from bot.binding.sandbox.desk import SandboxDesk
from bot.conversations.store import parse_record
from bot.simulator.wechat_side import WeChatSide
from flows import texts
from tests.support.binding import person
from tests.support.chat import CODE, User, click, verify_rows


@pytest.fixture
def world(make_settings, redis_client):
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    app = create_app(settings)
    server = BackgroundServer(app).start()
    side = WeChatSide(settings.wechat)
    yield app, server, side
    server.stop()


def test_whole_binding_from_the_first_message_to_the_approval_decision(world) -> None:
    app, server, side = world
    grandpa = User(server, side, "o_grandpa")
    wife = person("李秀英")
    answers = grandpa.play([
        ("你好", "绑定家人"),
        ("绑定家人", "先验证一下您的身份"),
        *verify_rows("王建国"),
        (CODE, "身份验证成功：王**"),
    ])
    assert "可共济余额 8,650.00 元" in answers[-1] and "1. 配偶" in answers[-1]
    answers = grandpa.play([
        ("老伴", "请输入这位家人的姓名"),
        (wife.name, "证件号码"),
        (wife.id_number, "承诺书"),
        ("同意", "请核对"),
    ])
    summary = answers[-1]
    assert "1. 关系：配偶" in summary and "2. 姓名：李**" in summary
    assert "3. 身份证号码：3301**********0224（女，62岁）" in summary
    assert wife.id_number not in summary and wife.name not in summary
    submitted = grandpa.say("确认")
    assert "还需要您的配偶 李** 本人确认同意" in submitted
    code = re.search(r"同意 ([0-9A-F]{6})", submitted).group(1)

    member = User(server, side, "o_grandma")
    member.play([
        (f"同意 {code}", "先验证一下您的身份"),
        *verify_rows("李秀英"),
        (CODE, "申请把自己的职工医保个人账户授权给您使用"),
        ("同意", "您已同意"),
    ])

    bot = app.extensions["wxbot"]
    desk = SandboxDesk(bot.binding, f"{server.url}/binding/callback", signing_key(bot.settings))
    assert desk.tick() == 1
    [(decision, openid)] = bot.decisions.recorded()
    assert (decision.status, openid) == ("approved", "o_grandpa")

    # Both drafts are gone; the personal data went with them.
    for openid in ("o_grandpa", "o_grandma"):
        assert parse_record(bot.redis.get(bot.keys.conversation(openid)))[1] is None


def test_minor_needs_a_photo_and_is_approved_at_once(world) -> None:
    _, server, side = world
    grandpa = User(server, side, "o_grandpa2")
    child = person("王朵朵")
    grandpa.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"),
                  ("孙女", "姓名"), (child.name, "证件号码"), (child.id_number, "户口本")])
    assert grandpa.say("好的") == texts.SEND_IMAGE
    assert "承诺书" in grandpa.image("media-hukou-1")
    grandpa.play([("同意", "4. 证明材料：已上传"), ("确认", "办理成功！孙子女/外孙子女 王** 已可以使用")])


@pytest.mark.parametrize("rows", [
    # in-laws are refused with the reason, then a valid answer goes on
    [("岳母", "岳父母、公婆不在范围内"), ("1", "姓名")],
    # wrong ID checksum, lowercase x normalised, oneself refused
    [("1", "姓名"), ("李秀英", "证件号码"), ("330106196408220225", "校验不通过"),
     (person("王建国").id_number, "这是您本人的证件号码")],
    # a "child" older than the initiator is questioned
    [("儿子", "姓名"), ("孙梅", "证件号码"), (person("孙梅").id_number, "今年 68 岁，和所选关系、您的年龄对不上"),
     ("否", "证件号码")],
    # edit one field from the summary and come straight back
    [("1", "姓名"), ("李秀英", "证件号码"), (person("李秀英").id_number, "承诺书"), ("同意", "请核对"),
     ("修改2", "请输入这位家人的姓名"), ("李秀", "请核对"), ("确认", "姓名和身份证号与医保登记信息不一致"),
     # corrected after the refusal: a new submission, accepted
     ("李秀英", "证件号码"), (person("李秀英").id_number, "承诺书"), ("同意", "请核对"), ("确认", "本人确认同意")],
    # three wrong answers: a way out
    [("1", "姓名"), ("123", "不是姓名"), ("张3", "不是姓名"), ("😀", "12393")],
    # help, back and cancel at any step
    [("帮助", "近亲属"), ("1", "姓名"), ("上一步", "请问要绑定的家人是您的"), ("取消", "确定要取消"),
     ("是", "已取消")],
])
def test_bind_member_conversations(world, rows) -> None:
    _, server, side = world
    user = User(server, side, f"o_{abs(hash(str(rows))) % 10**8}")
    user.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的")])
    user.play(rows)


@pytest.mark.parametrize("name, expected", [
    ("刘芳", "城乡居民医保没有个人账户"),
    ("陈大山", "不是正常参保状态"),
    ("张伟", "没有可共济的余额"),
])
def test_ineligible_initiators_are_told_why(world, name, expected) -> None:
    _, server, side = world
    user = User(server, side, f"o_{name}")
    user.play([("绑定家人", "姓名"), *verify_rows(name), (CODE, expected)])


def test_verification_errors(world) -> None:
    _, server, side = world
    user = User(server, side, "o_wrong")
    who = person("王建国")
    answers = user.play([
        ("验证身份", "姓名"),
        ("王建", "身份证号码"),
        (who.id_number, "验证码已发送"),        # the same words as for a matching pair
        ("000000", "验证码不对"),
        ("111111", "验证码不对"),
        ("222222", "已为您发送新的验证码"),     # a code takes three tries
        ("重新开始", "确定要重新开始"), ("是", "姓名"),
        (who.name, "身份证号码"),
        (who.id_number.lower(), "验证码已发送"),
        ("000000", "验证码不对"),
        (CODE, "身份验证成功"),
    ])
    assert answers[2] == answers[9] and "138" not in answers[9]   # nothing tells the two pairs apart


def test_draft_survives_and_asks_to_resume_after_the_idle_window(world, make_settings) -> None:
    app, server, side = world
    user = User(server, side, "o_idle")
    user.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"), ("1", "姓名")])
    bot = app.extensions["wxbot"]
    key = bot.keys.conversation("o_idle")
    # Make the draft look 31 minutes old, as if the user went away.
    conversations = bot.processor.route.conversations
    conv, rev = conversations.store.load("o_idle")
    from dataclasses import replace
    conversations.store.save("o_idle", replace(conv, updated_at=conv.updated_at - 31 * 60), rev)
    user.play([("李秀英", "还没有办完"), ("1", "请输入这位家人的姓名"), ("李秀英", "证件号码")])
    assert bot.redis.ttl(key) > 71 * 3600


def test_a_policy_question_mid_flow_is_answered_then_the_question_repeated(world) -> None:
    _, server, side = world
    user = User(server, side, "o_curious")
    user.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"), ("1", "姓名")])
    answer = user.say("共济的钱能用在哪里？")
    assert "定点药店" in answer and answer.endswith("请输入这位家人的姓名（与身份证一致）：")
    assert user.say("李秀英").startswith("请输入这位家人的证件号码")


def test_a_policy_question_outside_a_flow(world) -> None:
    _, server, side = world
    assert "医保钱包" in User(server, side, "o_q").say("我妈在外省能绑定吗")


def test_a_half_finished_flow_survives_a_restart(world, make_settings) -> None:
    app, server, side = world
    user = User(server, side, "o_restart")
    user.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"), ("1", "姓名")])
    server.stop()
    # A new process: nothing carried over in memory, only Redis.
    fresh = BackgroundServer(create_app(app.extensions["wxbot"].settings)).start()
    try:
        assert User(fresh, side, "o_restart").say("李秀英").startswith("请输入这位家人的证件号码")
    finally:
        fresh.stop()


def test_menu_clicks_that_answer_at_once(world) -> None:
    _, server, side = world
    user = User(server, side, "o_menu")
    assert "亲情账户和家庭共济的区别" in click(user, "FAQ")
    assert "医保经办大厅" in click(user, "OFFLINE")
    assert "12393" in click(user, "HOTLINE")
    assert "请输入您的姓名" in click(user, "BIND_MEMBER")


def test_an_unknown_question_gets_the_topics_and_the_hotline(world) -> None:
    _, server, side = world
    answer = User(server, side, "o_q2").say("医保卡丢了怎么补办？")
    assert "这个问题我还答不上来" in answer and "可以绑定哪些家人" in answer and "12393" in answer


def test_unfollowing_removes_the_draft_and_the_identity(world) -> None:
    app, server, side = world
    user = User(server, side, "o_leaving")
    user.play([("绑定家人", "姓名"), *verify_rows("王建国"), (CODE, "请问要绑定的家人是您的"), ("1", "姓名")])
    bot = app.extensions["wxbot"]
    assert bot.redis.exists(bot.keys.conversation("o_leaving"), bot.keys.identity("o_leaving")) == 2
    side.post(server.url, side.deliver(side.event_xml("o_leaving", "unsubscribe"), "o_leaving"))
    assert bot.redis.exists(bot.keys.conversation("o_leaving"), bot.keys.identity("o_leaving")) == 0
