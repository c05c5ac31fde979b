"""The engine says what became of each run of a flow (for the metrics): started, completed at an
End step, abandoned at a step and why. Each run starts once and ends at most once — a draft
paused by a switch is not abandoned, it ends later like any other."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from flows.engine import (
    MAX_PAUSED,
    Ask,
    Conversation,
    Do,
    EffectDone,
    End,
    Engine,
    Flow,
    Milestone,
    Start,
    UserImage,
    UserText,
)
from tests.test_engine import CTX, DEMO, PHOTO, parse_age


def two_questions(flow_id: str) -> Flow:
    return Flow(id=flow_id, version=1, title=flow_id, first="a", steps={
        "a": Ask(field="a", prompt=lambda d, c: "a?", parse=lambda raw, d, c: raw, next="b"),
        "b": Ask(field="b", prompt=lambda d, c: "b?", parse=lambda raw, d, c: raw, next="end"),
        "end": End(message=lambda d, c: "ok"),
    })


REFUSING = Flow(id="refusing", version=1, title="拒绝", first="age", steps={
    "age": Ask(field="age", prompt=lambda d, c: "年龄？", parse=parse_age, next="check"),
    "check": Do(effect="check", args=lambda d, c: {}, on_ok=lambda d, c, v: ("end", {}),
                on_error=lambda d, c, error: (None, "不符合条件。"), to=("end",)),
    "end": End(message=lambda d, c: "好了"),
})
MANY = {f"f{i}": two_questions(f"f{i}") for i in range(1, MAX_PAUSED + 3)}
ENGINE = Engine({"demo": DEMO, "photo": PHOTO, "refusing": REFUSING, **MANY})


class Run:
    def __init__(self, effects: dict | None = None) -> None:
        self.conv = Conversation()
        self.effects = effects or {"lookup": (True, "330100", ""), "check": (False, None, "too_young")}
        self.milestones: list[Milestone] = []

    def send(self, event) -> Run:
        outcome = ENGINE.run(self.conv, event, CTX, self.perform)
        self.milestones += outcome.milestones
        self.conv = outcome.conversation
        return self

    def perform(self, effect) -> EffectDone:
        ok, value, error = self.effects[effect.name]
        return EffectDone(effect.name, ok, value, error)

    def say(self, *texts: str) -> Run:
        for text in texts:
            self.send(UserText(text))
        return self

    def start(self, flow: str) -> Run:
        return self.send(Start(flow))

    def ends(self) -> Counter:
        return Counter((m.kind, m.flow, m.step, m.reason) for m in self.milestones if m.kind != "started")

    def starts(self) -> Counter:
        return Counter(m.flow for m in self.milestones if m.kind == "started")


def test_a_completed_run_starts_once_and_completes_at_its_end_step() -> None:
    run = Run().start("demo").say("杭州", "35", "是")
    assert run.milestones == [Milestone("started", "demo"), Milestone("completed", "demo", "done")]


def test_cancel_at_a_step() -> None:
    run = Run().start("demo").say("杭州", "取消", "是")
    assert run.milestones[-1] == Milestone("abandoned", "demo", "age", "cancel")


def test_declining_to_go_on_with_a_draft() -> None:
    run = Run().start("demo").say("杭州")
    run.send(Start("demo"))  # the same service again: 继续上次 / 重新开始 / 取消?
    run.say("取消")
    assert run.milestones[-1] == Milestone("abandoned", "demo", "age", "resume_declined")
    assert run.starts() == {"demo": 1}


def test_a_refusal_that_ends_the_flow() -> None:
    run = Run().start("refusing").say("12")
    assert run.milestones[-1] == Milestone("abandoned", "refusing", "check", "refused")


def test_three_wrong_answers_mark_a_way_out_and_the_flow_goes_on() -> None:
    run = Run().start("demo").say("杭州", "x", "y", "z", "35", "是")
    assert run.ends() == {("way_out", "demo", "age", ""): 1, ("completed", "demo", "done", ""): 1}


def test_a_switch_with_nothing_typed_abandons_the_run() -> None:
    run = Run().start("demo").start("photo")
    assert run.milestones == [Milestone("started", "demo"), Milestone("abandoned", "demo", "city", "switch"),
                              Milestone("started", "photo")]


def test_a_paused_draft_is_not_abandoned_and_completes_later() -> None:
    run = Run().start("demo").say("杭州").start("photo").say("是")  # leave 演示 for 照片: paused
    assert run.conv.flow == "photo" and run.conv.paused[0].flow == "demo"
    run.send(UserImage("m1"))  # 照片 done; 演示 offered again
    run.say("1", "35", "是")
    assert run.starts() == {"demo": 1, "photo": 1}
    assert run.ends() == {("completed", "photo", "end", ""): 1, ("completed", "demo", "done", ""): 1}


def test_a_paused_draft_pushed_out_by_too_many_is_abandoned() -> None:
    run = Run()
    for flow in MANY:
        run.start(flow)
        if run.conv.confirming == "switch":  # 要先去…吗？
            run.say("是")
        run.say("answer")  # something typed: the next switch keeps this draft
    assert len(run.conv.paused) == MAX_PAUSED
    assert run.ends() == {("abandoned", "f1", "b", "switch"): 1}


def test_a_flow_removed_by_a_deploy_is_gone() -> None:
    run = Run()
    run.conv = replace(Conversation(), flow="vanished", version=1, step="old")
    run.say("你好")
    assert run.milestones == [Milestone("abandoned", "vanished", "old", "gone")]
