"""Conversations as people really have them, through the real /wechat endpoint, real Redis and the
sandbox bureau: everything said at once, one answer at a time, voice, small talk mid-flow, edits
that must run their checks again."""

from __future__ import annotations

import re

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from bot.simulator.wechat_side import WeChatSide
from flows import texts
from flows.texts import bind_member as bt
from tests.support.binding import person
from tests.support.chat import CODE, User

ME, WIFE, GRANDCHILD = person("王建国"), person("李秀英"), person("王朵朵")


@pytest.fixture
def world(make_settings, redis_client):
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}})
    app = create_app(settings)
    server = BackgroundServer(app).start()
    yield server, WeChatSide(settings.wechat)
    server.stop()


class Counted(User):
    """A user whose messages are counted."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.sent = 0

    def say(self, text: str) -> str:
        self.sent += 1
        return super().say(text)

    def image(self, media_id: str) -> str:
        self.sent += 1
        return super().image(media_id)

    def voice(self, recognition: str) -> str:
        self.sent += 1
        xml = self.side.voice_xml(self.openid, recognition)
        return self.side.open_reply(self.side.post(self.server.url, self.side.deliver(xml, self.openid)).text)["Content"]


def test_a_spouse_binding_said_all_at_once_takes_five_messages(world) -> None:
    me = Counted(*world, "o_all_at_once")
    me.play([(f"帮我把老伴{WIFE.name}绑上，身份证{WIFE.id_number}", "先验证一下您的身份"),
             (f"我叫{ME.name}，身份证{ME.id_number}", "验证码已发送"),
             (f"验证码是{CODE}", "承诺书")])   # verified; relationship, name and ID number already said
    summary = me.say("同意")
    assert "1. 关系：配偶" in summary and "2. 姓名：李**" in summary and "3. 身份证号码：3301**********0224" in summary
    assert "本人确认同意" in me.say("确认")
    assert me.sent == 5


def test_a_spouse_binding_one_answer_at_a_time_takes_nine(world) -> None:
    me = Counted(*world, "o_one_at_a_time")
    me.play([("绑定家人", "姓名"), (ME.name, "身份证号码"), (ME.id_number, "验证码"), (CODE, "请问要绑定的家人是您的"),
             ("我老伴", "姓名"), (WIFE.name, "证件号码"), (WIFE.id_number, "承诺书"), ("同意", "请核对"),
             ("确认", "本人确认同意")])
    assert me.sent == 9


def test_a_minor_binding_said_all_at_once_adds_only_the_photo(world) -> None:
    me = Counted(*world, "o_minor_at_once")
    me.play([(f"给孙女{GRANDCHILD.name}办共济，她身份证号{GRANDCHILD.id_number}", "先验证一下您的身份"),
             (f"{ME.name} {ME.id_number}", "验证码已发送"), (CODE, "户口本")])
    assert "承诺书" in me.image("media-hukou")
    me.play([("同意", "4. 证明材料：已上传"), ("确认", "办理成功")])
    assert me.sent == 6       # the five of a spouse, and the 户口本 photo a minor needs


def test_a_minor_binding_one_answer_at_a_time(world) -> None:
    me = Counted(*world, "o_minor_one_by_one")
    me.play([("绑定家人", "姓名"), (ME.name, "身份证号码"), (ME.id_number, "验证码"), (CODE, "请问要绑定的家人是您的"),
             ("孙女", "姓名"), (GRANDCHILD.name, "证件号码"), (GRANDCHILD.id_number, "户口本")])
    assert "承诺书" in me.image("media-hukou")
    me.play([("同意", "请核对"), ("确认", "办理成功")])
    assert me.sent == 10      # nine, and the photo


def test_voice_with_recognised_text_is_understood_and_without_it_the_question_follows(world) -> None:
    me = Counted(*world, "o_voice")
    assert "先验证一下您的身份" in me.voice("嗯，我想给我老伴办个家庭共济。")
    assert "身份证号码" in me.voice(f"我叫{ME.name}。")
    spoken = "三三零一零六一九六二零三一五零一一一"
    assert "验证码已发送" in me.voice(f"身份证号是{spoken}。")
    answer = me.voice("")          # WeChat heard nothing
    assert answer.startswith(texts.VOICE_UNHEARD) and answer.endswith("请回复 6 位验证码：")
    assert "姓名" in me.voice("一二三四五六。")   # the code, read out; then the relationship said at first


def test_a_greeting_thanks_and_wait_mid_flow_are_answered_and_store_nothing(world) -> None:
    me = Counted(*world, "o_polite")
    me.play([("绑定家人", "姓名"), (ME.name, "身份证号码"), (ME.id_number, "验证码"), (CODE, "请问要绑定的家人是您的"),
             ("是我老伴", "姓名")])
    for said in ("你好", "谢谢", "在吗", "我去拿一下身份证", "人工", "怎么弄"):
        answer = me.say(said)
        assert answer.endswith(bt.ASK_NAME), (said, answer)
    assert "12393" in me.say("转人工")
    assert me.say("秀英") == bt.CONFIRM_NAME.format(name="秀英")     # maybe a name: asked, not stored
    assert me.say("不是").endswith(bt.ASK_NAME)
    assert "证件号码" in me.say(f"她叫{WIFE.name}")


def test_edits_at_the_summary_run_every_check_again(world) -> None:
    """The attack of the issue: an adult child, then at the summary the name and ID number of an
    8-year-old and the relationship 父母 — never submitted without the age question and the photo."""
    me = Counted(*world, "o_edits")
    son = person("王小明")
    me.play([("绑定家人", "姓名"), (ME.name, "身份证号码"), (ME.id_number, "验证码"), (CODE, "请问要绑定的家人是您的"),
             ("子女", "姓名"), (son.name, "证件号码"), (son.id_number, "承诺书"), ("同意", "请核对"),
             ("修改2", "姓名"), (GRANDCHILD.name, "请核对"),
             ("修改3", "证件号码"), (GRANDCHILD.id_number, "户口本")])   # now a minor: the photo is asked
    assert "请核对" in me.image("media-1")
    answer = me.say("修改1")
    assert "请问要绑定的家人是您的" in answer
    assert "今年 8 岁" in me.say("父母")          # an 8-year-old parent is questioned
    assert "证件号码" in me.say("否")
    assert "确定要取消" in me.say("取消")
    assert me.say("是").startswith(texts.CANCELLED.format(title="绑定家人"))


def test_edits_in_words_and_a_new_value_with_the_edit(world) -> None:
    me = Counted(*world, "o_edit_words")
    me.play([(f"帮我把老伴{WIFE.name}绑上，身份证{WIFE.id_number}", "先验证"), (f"{ME.name} {ME.id_number}", "验证码"),
             (CODE, "承诺书"), ("同意", "请核对"),
             ("名字写错了", "请输入这位家人的姓名"), (WIFE.name, "请核对"),
             ("填错了", texts.WHICH_ITEM), ("修改第三项", "证件号码"), (WIFE.id_number, "请核对"),
             ("确认无误", "本人确认同意")])


@pytest.mark.parametrize("rows", [
    [("媳妇", "您说的是哪一位"), ("1", "请输入这位家人的姓名")],                  # wife, or a son's wife: asked
    [("媳妇", "您说的是哪一位"), ("2", "儿媳、女婿（子女的配偶）不在范围内")],
    [("老板", "您是说“老伴”吗？"), ("是", "请输入这位家人的姓名")],               # a word of its own: asked
    [("老板", "您是说“老伴”吗？"), ("不是", "请问要绑定的家人是您的")],
    [("儿媳", "不在范围内"), ("第一个", "姓名")], [("外甥", "哪一位")], [("我家闺女", "姓名")], [("俺娘", "姓名")],
    [("老拌", "姓名")], [("岳父", "请问要绑定的家人是您的")], [("儿子女儿", "请输入这位家人的姓名")],
])
def test_relationships_as_people_say_them(world, rows) -> None:
    me = User(*world, f"o_rel_{abs(hash(str(rows))) % 10**8}")
    me.play([("绑定家人", "姓名"), (ME.name, "身份证号码"), (ME.id_number, "验证码"), (CODE, "请问要绑定的家人是您的")])
    me.play(rows)


def test_a_yes_that_also_asks_or_objects_is_no_yes(world) -> None:
    me = User(*world, "o_careful")
    me.play([(f"帮我把老伴{WIFE.name}绑上，身份证{WIFE.id_number}", "先验证"), (f"{ME.name} {ME.id_number}", "验证码"),
             (CODE, "承诺书"), ("同意", "请核对")])
    # At the summary, “yes, but the name is wrong” goes to the name; nothing is submitted.
    assert "请输入这位家人的姓名" in me.say("没问题，就是名字错了")
    assert "请核对" in me.say(WIFE.name)
    assert me.say("明白了") == bt.BAD_SUMMARY                     # heard, but no yes: nothing submitted
    assert me.say("是的，可是我还想再看看") == bt.BAD_SUMMARY
    assert "本人确认同意" in me.say("确认")


def test_the_users_own_name_never_becomes_the_members(world) -> None:
    me = User(*world, "o_own_name")
    me.play([("我叫王建国，帮我老伴办一下", "先验证"), (f"{ME.name} {ME.id_number}", "验证码"),
             (CODE, "请输入这位家人的姓名")])          # the relationship was taken; the name was not
    assert me.say(f"我叫{ME.name}") == bt.NOT_YOUR_NAME


def test_cancel_answering_are_you_sure_means_yes(world) -> None:
    me = User(*world, "o_cancel_yes")
    me.play([("绑定家人", "姓名"), ("取消", "确定要取消"), ("取消", "已取消")])
    me.play([("绑定家人", "姓名"), ("不想办了", "确定要取消"), ("不取消", "姓名")])


def test_questions_find_their_answers_by_meaning(world) -> None:
    me = User(*world, "o_questions")
    assert "不能取现" in me.say("绑定了以后钱能取出来吗")
    assert "户口本" in me.say("给孙子办要带什么")
    assert "岳父母、公婆" in (answer := me.say("能给丈母娘绑吗")) and "不能绑定" in answer


def test_a_consent_code_in_any_form_starts_the_consent(world) -> None:
    grandpa = User(*world, "o_grandpa_c")
    grandpa.play([(f"绑定老伴{WIFE.name}，{WIFE.id_number}", "先验证"), (f"{ME.name} {ME.id_number}", "验证码"),
                  (CODE, "承诺书"), ("同意", "请核对")])
    code = re.search(r"同意 ([0-9A-F]{6})", grandpa.say("确认")).group(1)
    member = User(*world, "o_grandma_c")
    spaced = " ".join(code[i:i + 2] for i in range(0, 6, 2))
    assert "先验证一下您的身份" in member.say(f"我同意，{spaced.lower()}")
