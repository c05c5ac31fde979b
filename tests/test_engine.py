"""The step engine on a small flow of its own: answers, re-prompts, moves, effects, resuming.
Tests read as conversations: (what the user says, what the bot answers)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from flows import texts
from flows.context import Context, User
from flows.engine import (
    MAX_EFFECTS,
    Ask,
    Conversation,
    Do,
    EffectDone,
    End,
    Engine,
    Flow,
    Invalid,
    Start,
    Transition,
    UndeclaredTransition,
    UserImage,
    UserText,
)
from flows.understanding import read

CTX = Context(now=1_800_000_000.0, today=date(2027, 1, 15))


def parse_city(text, data, ctx):
    if not text.strip():
        raise Invalid("城市不能为空，请重新输入。")
    return text.strip()


def parse_age(text, data, ctx):
    if not text.strip().isdigit():
        raise Invalid("年龄请只填数字，例如 35。")
    return int(text)


def parse_confirm(text, data, ctx):
    answer = read(text).yes_no()
    if answer is None:
        raise Invalid("请回复“是”提交，或“修改1”“修改2”修改。")
    return answer


DEMO = Flow(id="demo", version=1, title="演示", first="city", steps={
    "city": Ask(field="city", prompt=lambda d, c: "请输入城市：", parse=parse_city, next="age",
                help="城市就是您参保的地方。", label="城市"),
    "age": Ask(field="age", prompt=lambda d, c: "请输入年龄：", parse=parse_age, next="lookup", label="年龄"),
    "lookup": Do(effect="lookup", args=lambda d, c: {"city": d["city"]},
                 on_ok=lambda d, c, value: ("summary", {"code": value}),
                 on_error=lambda d, c, error: ("city", f"查不到（{error}），请换一个城市。"), to=("summary", "city")),
    "summary": Ask(field="confirmed", prompt=lambda d, c: f"{d['city']}，{d['age']}岁，代码{d['code']}。确认吗？",
                   parse=parse_confirm, next="done"),
    "done": End(message=lambda d, c: f"办好了：{d['city']}"),
})
PHOTO = Flow(id="photo", version=1, title="照片", first="pic", steps={
    "pic": Ask(field="pic", prompt=lambda d, c: "请发照片：", parse=lambda raw, d, c: raw, next="end",
               wants_image=True),
    "end": End(message=lambda d, c: f"收到 {d['pic']}"),
})
ENGINE = Engine({"demo": DEMO, "photo": PHOTO})


class Chat:
    """Plays a conversation against the engine, running the effects with canned results."""

    def __init__(self, effects: dict | None = None) -> None:
        self.conv = Conversation()
        self.effects = effects or {"lookup": (True, "330100", "")}
        self.ran: list = []

    def send(self, event) -> list[str]:
        outcome = ENGINE.run(self.conv, event, CTX, self.perform)
        self.conv = outcome.conversation
        return list(outcome.replies)

    def perform(self, effect) -> EffectDone:
        self.ran.append(effect)
        ok, value, error = self.effects[effect.name]
        return EffectDone(effect.name, ok, value, error)

    def say(self, text: str) -> list[str]:
        return self.send(UserText(text))

    def play(self, rows: list[tuple[str, list[str]]]) -> None:
        for said, expected in rows:
            assert self.say(said) == expected, f"after {said!r}"


def test_happy_path_with_an_effect() -> None:
    chat = Chat()
    assert chat.send(Start("demo")) == ["请输入城市："]
    chat.play([
        ("杭州", ["请输入年龄："]),
        ("35", ["杭州，35岁，代码330100。确认吗？"]),
        ("是", ["办好了：杭州"]),
    ])
    assert not chat.conv.active
    assert chat.ran[0].args == {"city": "杭州"}


def test_invalid_answers_are_re_prompted_then_a_way_out_is_offered() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.play([
        ("三十五", ["年龄请只填数字，例如 35。"]),
        ("35岁", ["年龄请只填数字，例如 35。"]),
        ("abc", ["年龄请只填数字，例如 35。", texts.WAY_OUT.format(title="演示")]),
        ("35", ["杭州，35岁，代码330100。确认吗？"]),
    ])


def test_help_then_the_same_prompt() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.play([("帮助", ["城市就是您参保的地方。", "请输入城市："])])
    assert chat.conv.step == "city"


def test_back_goes_to_the_previous_question_keeping_the_answers() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.play([
        ("上一步", [texts.NO_STEP_BACK, "请输入城市："]),
        ("杭州", ["请输入年龄："]),
        ("返回", ["请输入城市："]),
        ("宁波", ["请输入年龄："]),
    ])
    assert chat.conv.data["city"] == "宁波"


def test_cancel_asks_first_then_deletes_the_draft() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.play([
        ("取消", [texts.CONFIRM_CANCEL.format(title="演示")]),
        ("否", [texts.CARRY_ON, "请输入年龄："]),
        ("取消", [texts.CONFIRM_CANCEL.format(title="演示")]),
        ("啥意思", [texts.CONFIRM_CANCEL.format(title="演示")]),   # help: the question again
        ("随便", [texts.YES_OR_NO]),
        ("是", [texts.CANCELLED.format(title="演示")]),
    ])
    assert chat.conv == Conversation()


def test_restart_clears_the_answers() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.play([("重新开始", [texts.CONFIRM_RESTART.format(title="演示")]), ("是", ["请输入城市："])])
    assert dict(chat.conv.data) == {}


def test_restart_keeps_what_the_flow_was_started_with() -> None:
    # A consent code, the service verification leads to, a submission's idempotency key: not
    # answers, and a flow started again without them could never finish.
    chat = Chat()
    chat.send(Start("demo", {"idempotency_key": "k1"}))
    chat.say("杭州")
    chat.play([("重新开始", [texts.CONFIRM_RESTART.format(title="演示")]), ("是", ["请输入城市："])])
    assert dict(chat.conv.data) == {"idempotency_key": "k1"}
    chat.conv = replace(chat.conv, updated_at=0.0, confirming="resume")  # the resume question's "2"
    chat.play([("2", ["请输入城市："])])
    assert dict(chat.conv.data) == {"idempotency_key": "k1"}


def test_effect_error_routes_back_with_a_message() -> None:
    chat = Chat({"lookup": (False, None, "unknown_city")})
    chat.send(Start("demo"))
    chat.play([("火星", ["请输入年龄："]), ("20", ["查不到（unknown_city），请换一个城市。", "请输入城市："])])


def test_image_step_wants_an_image() -> None:
    chat = Chat()
    assert chat.send(Start("photo")) == ["请发照片："]
    assert chat.say("好的") == [texts.SEND_IMAGE]
    assert chat.send(UserImage("media-42")) == ["收到 media-42"]


def test_resume_after_the_idle_window() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    outcome = ENGINE.ask_to_resume(chat.conv)
    assert outcome.replies == (texts.RESUME_QUESTION.format(title="演示"),)
    chat.conv = outcome.conversation
    chat.play([("随便", [texts.RESUME_QUESTION.format(title="演示")]), ("1", ["请输入年龄："])])
    chat.conv = ENGINE.ask_to_resume(chat.conv).conversation
    chat.play([("重新开始", ["请输入城市："])])


def test_edit_a_field_from_the_summary_and_come_straight_back() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.play([("杭州", ["请输入年龄："]), ("35", ["杭州，35岁，代码330100。确认吗？"])])
    outcome = ENGINE.edit(chat.conv, 2, CTX)
    assert outcome.replies == ("请输入年龄：",)
    chat.conv = outcome.conversation
    chat.play([("36", ["杭州，36岁，代码330100。确认吗？"])])
    assert ENGINE.edit(chat.conv, 9, CTX) is None


def test_a_step_removed_by_a_deploy_goes_on_from_the_first_unanswered_question() -> None:
    stale = Conversation(flow="demo", version=1, step="no_longer_exists", data={"city": "杭州"})
    outcome = ENGINE.handle(stale, UserText("35"), CTX)
    assert outcome.replies == (texts.FLOW_CHANGED, "请输入年龄：")
    assert outcome.conversation.data == {"city": "杭州"}


def test_a_new_flow_version_keeps_the_answers_it_still_asks_for() -> None:
    old = Conversation(flow="demo", version=0, step="age", data={"city": "杭州", "retired_field": "x"})
    outcome = ENGINE.handle(old, UserText("35"), CTX)
    assert outcome.replies == (texts.FLOW_CHANGED, "请输入年龄：")
    assert outcome.conversation.version == 1
    assert outcome.conversation.history == ("city",)


def test_a_removed_flow_ends_plainly() -> None:
    outcome = ENGINE.handle(Conversation(flow="gone", step="x"), UserText("hi"), CTX)
    assert outcome.replies == (texts.FLOW_GONE,) and not outcome.conversation.active


def test_service_unavailable_keeps_the_draft_and_offers_a_retry() -> None:
    from flows.texts.refusals import refusal
    chat = Chat({"lookup": (False, None, "service_unavailable")})
    chat.send(Start("demo"))
    chat.say("杭州")
    assert chat.say("35") == [refusal("service_unavailable"), texts.RETRY_PROMPT]
    assert chat.say("什么") == [texts.RETRY_PROMPT]
    chat.effects["lookup"] = (True, "330100", "")
    assert chat.say("重试") == ["杭州，35岁，代码330100。确认吗？"]
    assert len(chat.ran) == 2


def test_cancel_from_the_retry_state_is_confirmed_too() -> None:
    chat = Chat({"lookup": (False, None, "service_unavailable")})
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.say("35")
    chat.play([
        ("取消", [texts.CONFIRM_CANCEL.format(title="演示")]),
        ("否", [texts.CARRY_ON, texts.RETRY_PROMPT]),
        ("取消", [texts.CONFIRM_CANCEL.format(title="演示")]),
        ("是", [texts.CANCELLED.format(title="演示")]),
    ])


# -- another service in the middle of a flow (a menu click) ----------------------------------------
def test_a_click_mid_flow_asks_first_and_no_keeps_the_draft() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    [question] = chat.send(Start("photo"))
    assert "“演示”" in question and "“照片”" in question
    assert chat.say("什么意思") == [question]
    assert chat.say("随便") == [texts.YES_OR_NO]
    assert chat.say("否") == [texts.CARRY_ON, "请输入年龄："]
    assert (chat.conv.flow, chat.conv.data, chat.conv.paused) == ("demo", {"city": "杭州"}, ())


def test_yes_pauses_the_draft_and_offers_it_again_when_the_other_service_ends() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.send(Start("photo"))
    assert chat.say("是") == ["请发照片："]
    assert [p.data for p in chat.conv.paused] == [{"city": "杭州"}]
    assert chat.send(UserImage("m1")) == ["收到 m1", texts.RESUME_PAUSED.format(title="演示")]
    assert chat.say("1") == ["请输入年龄："]
    assert chat.say("35") == ["杭州，35岁，代码330100。确认吗？"]
    assert chat.conv.paused == ()


def demo_paused_for_photo() -> Chat:
    """A city typed into 演示, then 照片 clicked and switched to: 演示 waits, paused."""
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    chat.send(Start("photo"))
    chat.say("是")
    return chat


def test_a_paused_draft_can_be_restarted_or_cancelled_when_offered() -> None:
    for answer, expected, flow in (("2", ["请输入城市："], "demo"), ("取消", [texts.CANCELLED.format(title="演示")], None)):
        chat = demo_paused_for_photo()
        chat.send(UserImage("m1"))
        assert chat.say(answer) == expected
        assert (chat.conv.flow, chat.conv.data, chat.conv.paused) == (flow, {}, ())


def test_cancelling_the_other_service_also_offers_the_paused_draft() -> None:
    chat = demo_paused_for_photo()
    chat.say("取消")
    assert chat.say("是") == [texts.CANCELLED.format(title="照片"), texts.RESUME_PAUSED.format(title="演示")]
    assert chat.conv.data == {"city": "杭州"}


def test_clicking_the_paused_service_again_resumes_its_draft_instead_of_a_new_one() -> None:
    chat = demo_paused_for_photo()
    assert chat.send(Start("demo")) == [texts.RESUME_QUESTION.format(title="演示")]
    assert chat.say("1") == ["请输入年龄："]
    assert chat.conv.data == {"city": "杭州"}


def test_nothing_typed_yet_means_nothing_to_ask_about() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    assert chat.send(Start("photo")) == ["请发照片："]
    assert chat.conv.paused == ()


def test_the_same_service_clicked_again_asks_to_resume() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    assert chat.send(Start("demo")) == [texts.RESUME_QUESTION.format(title="演示")]
    assert chat.say("1") == ["请输入年龄："]


def test_a_service_that_needs_an_identity_starts_with_verification() -> None:
    verify = Flow(id="verify", version=1, title="验证", first="code", steps={
        "code": Ask(field="code", prompt=lambda d, c: "验证码：", parse=lambda raw, d, c: raw, next="ok"),
        "ok": End(message=lambda d, c: "已验证")})
    engine = Engine({"demo": DEMO, "verify": verify}, needs_identity=frozenset({"demo"}))
    outcome = engine.handle(Conversation(), Start("demo", {"x": 1}), CTX)
    assert (outcome.conversation.flow, outcome.conversation.data) == ("verify", {"then": "demo", "then_data": {"x": 1}})
    verified = Context(now=CTX.now, today=CTX.today, user=User(verified=True))
    assert engine.handle(Conversation(), Start("demo"), verified).conversation.flow == "demo"


# -- declarations ------------------------------------------------------------------------------------
def test_a_step_gets_its_id_from_its_key() -> None:
    assert DEMO.step("lookup").id == "lookup"
    assert [step.id for step in DEMO.steps.values()] == list(DEMO.steps)


def test_a_flow_that_leads_nowhere_or_to_a_missing_step_is_refused_when_declared() -> None:
    end = End(message=lambda d, c: "")
    for steps, problem in (
            ({"a": Ask(field="a", prompt=lambda d, c: "", parse=lambda r, d, c: r, next="b")}, "a -> b: no such step"),
            ({"a": Ask(field="a", prompt=lambda d, c: "", parse=lambda r, d, c: r, next=lambda d, c: "z"),
              "z": end}, "a declares no next step"),
            ({"a": Ask(field="a", prompt=lambda d, c: "", parse=lambda r, d, c: r, next="z", to=("z",)), "z": end},
             "`to` is for a callable `next`"),
            ({"a": Do(effect="e", args=lambda d, c: {}, on_ok=lambda d, c, v: ("z", {}),
                      on_error=lambda d, c, e: (None, ""), to=())}, "a declares no next step")):
        with pytest.raises(ValueError, match=re.escape(problem)):
            Flow(id="bad", version=1, title="坏", first="a", steps=steps)


def leading_astray(where: str) -> Engine:
    """A flow whose `where` (the age's next, the lookup's on_ok or on_error) picks a step it does
    not declare: `stray`, which exists."""
    age_next = (lambda d, c: "stray") if where == "next" else (lambda d, c: "lookup")
    flow = Flow(id="astray", version=1, title="迷路", first="age", steps={
        "age": Ask(field="age", prompt=lambda d, c: "年龄？", parse=parse_age, next=age_next, to=("lookup",)),
        "lookup": Do(effect="lookup", args=lambda d, c: {},
                     on_ok=lambda d, c, v: ("stray" if where == "on_ok" else "done", {}),
                     on_error=lambda d, c, e: ("stray" if where == "on_error" else None, "不行。"), to=("done",)),
        "stray": End(message=lambda d, c: "不该到这里"),
        "done": End(message=lambda d, c: "好了"),
    })
    return Engine({"astray": flow})


@pytest.mark.parametrize("where", ["next", "on_ok", "on_error"])
def test_a_move_to_an_undeclared_step_is_refused(where) -> None:
    engine = leading_astray(where)
    conv = engine.handle(Conversation(), Start("astray"), CTX).conversation
    with pytest.raises(UndeclaredTransition) as refused:
        outcome = engine.handle(conv, UserText("35"), CTX)
        engine.handle(outcome.conversation, EffectDone("lookup", where == "on_ok", error="nope"), CTX)
    assert (refused.value.step, refused.value.target) == ("age" if where == "next" else "lookup", "stray")


def test_an_outcome_names_the_declared_steps_it_took() -> None:
    outcome = ENGINE.handle(Conversation(), Start("demo"), CTX)
    outcome = ENGINE.handle(outcome.conversation, UserText("杭州"), CTX)
    assert outcome.transitions == (Transition("demo", "city", "age"),)
    outcome = ENGINE.handle(outcome.conversation, UserText("35"), CTX)
    outcome = ENGINE.handle(outcome.conversation, EffectDone("lookup", True, "330100"), CTX)
    assert outcome.transitions == (Transition("demo", "lookup", "summary"),)


def test_run_does_the_effects_until_the_engine_waits_and_no_more_than_max_effects() -> None:
    chat = Chat()
    chat.send(Start("demo"))
    chat.say("杭州")
    outcome = ENGINE.run(chat.conv, UserText("35"), CTX, chat.perform)
    assert outcome.replies == ("杭州，35岁，代码330100。确认吗？",) and not outcome.effects
    assert outcome.transitions == (Transition("demo", "age", "lookup"), Transition("demo", "lookup", "summary"))
    looping = Flow(id="loop", version=1, title="循环", first="again", steps={
        "again": Do(effect="again", args=lambda d, c: {}, on_ok=lambda d, c, v: ("again", {}),
                    on_error=lambda d, c, e: (None, ""), to=("again",))})
    ran: list = []
    outcome = Engine({"loop": looping}).run(Conversation(), Start("loop"), CTX,
                                            lambda effect: ran.append(effect) or EffectDone("again", True))
    assert len(ran) == MAX_EFFECTS and outcome.effects   # a loop is cut short; what is left waits
