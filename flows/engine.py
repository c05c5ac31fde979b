"""The step engine: flows declared as data, run by one pure function.

    handle(conversation, event, context) -> Outcome(conversation', replies, effects)

No Redis, no HTTP, no clock: the handler loads the conversation, passes the time and settings in
`Context`, runs the effects the outcome asks for (binding-service calls) and feeds their results
back as `EffectDone` events, then saves the conversation.

A flow is a dict of steps with stable string ids:
  Ask   asks for one field: prompt, parser (raises `Invalid` with a re-prompt), help, next step
  Do    asks the handler to run an effect and routes on its result
  End   says a last message; the flow is over
Moves that work at every Ask step: 取消 (confirmed), 上一步/返回, 帮助, 重新开始 (confirmed).
After `MAX_RETRIES` invalid answers at one step, the user is offered a way out instead of a loop.

Starting another service in the middle of a flow (a menu click) asks first; on yes the draft is
paused, not lost, and offered again when the other service ends. Services that need a verified
identity start with the verification flow, which then hands over to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Mapping

from flows import texts
from flows.answers import clean, yes_or_no
from flows.refusals import refusal

MAX_RETRIES = 3
MAX_PAUSED = 3   # drafts kept while the user does something else; one per flow, so rarely reached

Data = Mapping[str, Any]


class Invalid(Exception):
    """The answer could not be used; `message` says why and how to answer instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def yes_or_no_answer(reprompt: str) -> Callable[[str, Any, Any], bool]:
    """The parser of a yes/no question: anything but a yes or a no re-prompts with `reprompt`."""
    def parse(text: str, data: Any, ctx: Any) -> bool:
        answer = yes_or_no(text)
        if answer is None:
            raise Invalid(reprompt)
        return answer
    return parse


@dataclass(frozen=True)
class Context:
    """What the flows may know about the world: passed in, never read from it."""
    now: float
    today: date
    settings: Any = None               # the region rules and similar, as the flows need them
    user: Mapping[str, Any] = field(default_factory=dict)  # e.g. the verified initiator's facts


Text = Callable[[Data, Context], str]
Next = str | Callable[[Data, Context], str]   # a step id, or a choice among the ids in `to`


@dataclass(frozen=True)
class Ask:
    id: str
    field: str
    prompt: Text
    parse: Callable[[str, Data, Context], Any]
    next: Next
    help: str = ""
    label: str = ""          # shown in the summary; fields with a label can be changed with 修改N
    wants_image: bool = False
    to: tuple[str, ...] = ()  # where a callable `next` may lead (for diagrams and checks)

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.next,) if isinstance(self.next, str) else self.to

    def go(self, data: Data, ctx: Context) -> str:
        return self.next if isinstance(self.next, str) else self.next(data, ctx)


@dataclass(frozen=True)
class Do:
    id: str
    effect: str
    args: Callable[[Data, Context], dict[str, Any]]
    # (data, context, result) -> (next step, data updates)
    on_ok: Callable[[Data, Context, Any], tuple[str, dict[str, Any]]]
    # (data, context, error code) -> (next step or None to end the flow, message)
    on_error: Callable[[Data, Context, str], tuple[str | None, str]]
    to: tuple[str, ...] = ()  # every step on_ok and on_error may lead to

    @property
    def targets(self) -> tuple[str, ...]:
        return self.to


@dataclass(frozen=True)
class End:
    id: str
    message: Text


Step = Ask | Do | End


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    title: str
    first: str
    steps: Mapping[str, Step]

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


# -- conversation state ------------------------------------------------------------------------
@dataclass(frozen=True)
class Conversation:
    flow: str | None = None
    version: int = 0
    step: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()      # Ask steps answered, for 上一步
    retries: int = 0
    confirming: str | None = None      # a move awaiting yes/no: cancel | restart | resume
    editing: bool = False              # 修改N: go straight back to the summary afterwards
    started_at: float = 0.0
    updated_at: float = 0.0
    switch_to: Mapping[str, Any] | None = None  # the service a click asked for, awaiting "leave this flow?"
    paused: tuple["Conversation", ...] = ()     # drafts left for another service, newest first
    given: tuple[str, ...] = ()        # the data keys the flow was started with: kept by 重新开始

    @property
    def active(self) -> bool:
        return self.flow is not None


IDLE = Conversation()


# -- events and outcomes -----------------------------------------------------------------------
@dataclass(frozen=True)
class UserText:
    text: str


@dataclass(frozen=True)
class UserImage:
    media_id: str


@dataclass(frozen=True)
class Start:
    flow: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectDone:
    effect: str
    ok: bool
    value: Any = None
    error: str = ""


Event = UserText | UserImage | Start | EffectDone


@dataclass(frozen=True)
class Effect:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Milestone:
    """What became of a run of a flow, for the handler's metrics. Each run is started once and ends
    at most once: completed (at an End step) or abandoned (at `step`, for `reason`):
      cancel           取消, confirmed
      restart          重新开始 (a new run starts), or a newer verification replacing a paused one
      resume_declined  取消 when asked to go on with a draft (after the idle window, or a paused one)
      switch           left for another service with nothing typed yet, or a paused draft pushed out
                       (a draft paused by a switch is still alive: it ends later, like any other)
      refused          the binding service refused in a way that ends the flow
      gone             the flow no longer exists (a deploy removed it)
    way_out marks three wrong answers in a row at `step`: the flow goes on."""
    kind: str           # started | completed | abandoned | way_out
    flow: str
    step: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    replies: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    finished: str | None = None        # the flow id that just ended (completed or cancelled)
    result: Mapping[str, Any] | None = None  # a completed flow's data, for the handler to act on
    milestones: tuple[Milestone, ...] = ()


def abandoned(conv: Conversation, reason: str) -> Milestone:
    return Milestone("abandoned", conv.flow or "", conv.step or "", reason)


def _with(outcome: Outcome, milestones: tuple[Milestone, ...]) -> Outcome:
    return replace(outcome, milestones=milestones + outcome.milestones) if milestones else outcome


EDIT = re.compile(r"(?:修改|改)(\d{1,2})")
SERVICE_UNAVAILABLE = "service_unavailable"
RETRY_WORDS = frozenset({"重试", "再试", "再试一次", "1", "好", "好的", "是"})

MOVES = {
    "取消": "cancel", "不办了": "cancel", "退出": "cancel",
    "上一步": "back", "返回": "back", "后退": "back",
    "帮助": "help", "怎么填": "help", "?": "help", "help": "help",
    "重新开始": "restart", "重来": "restart", "从头开始": "restart",
}


class Engine:
    def __init__(self, flows: Mapping[str, Flow], summary_step: str = "summary",
                 answer_question: Callable[[str], str | None] = lambda text: None,
                 needs_identity: frozenset[str] = frozenset(), verify_flow: str = "verify") -> None:
        self.flows = flows
        self.summary_step = summary_step
        self.answer_question = answer_question
        self.needs_identity = needs_identity   # started through `verify_flow` unless ctx.user["verified"]
        self.verify_flow = verify_flow

    # The one entry point.
    def handle(self, conv: Conversation, event: Event, ctx: Context) -> Outcome:
        if isinstance(event, Start):
            return self._start_requested(conv, event, ctx)
        if not conv.active:
            return Outcome(conv)
        flow = self.flows.get(conv.flow)
        if flow is None:
            return Outcome(IDLE, (texts.FLOW_GONE,), finished=conv.flow, milestones=(abandoned(conv, "gone"),))
        if conv.version != flow.version or conv.step not in flow.steps:
            return self._migrate(flow, conv, ctx)
        step = flow.step(conv.step)
        if isinstance(event, EffectDone):
            return self._effect_done(flow, conv, step, event, ctx)
        if isinstance(step, Do):
            return self._at_do_step(flow, conv, step, event, ctx)
        if conv.confirming:
            return self._confirm(flow, conv, event, ctx)
        if isinstance(event, UserText):
            move = MOVES.get(clean(event.text))
            if move:
                return self._move(flow, conv, move, ctx)
            edit = EDIT.fullmatch(clean(event.text))
            if edit and step.id == self.summary_step:
                return self.edit(conv, int(edit.group(1)), ctx) or self._invalid(
                    flow, conv, step, texts.NO_SUCH_ITEM, ctx)
        return self._answer(flow, conv, step, event, ctx)

    def _at_do_step(self, flow: Flow, conv: Conversation, step: Do, event: Event, ctx: Context) -> Outcome:
        """Only reachable after the binding service was unavailable: offer to try again."""
        word = clean(event.text) if isinstance(event, UserText) else ""
        if conv.confirming in ("cancel", "switch"):
            return self._confirm(flow, conv, event, ctx)
        if word in RETRY_WORDS:
            return Outcome(replace(conv, confirming=None), (), (Effect(step.effect, step.args(conv.data, ctx)),))
        if MOVES.get(word) == "cancel":
            return Outcome(replace(conv, confirming="cancel"), (texts.CONFIRM_CANCEL.format(title=flow.title),))
        return Outcome(replace(conv, confirming="retry"), (texts.RETRY_PROMPT,))

    # -- moves -------------------------------------------------------------------------------
    def _move(self, flow: Flow, conv: Conversation, move: str, ctx: Context) -> Outcome:
        step = flow.step(conv.step)
        if move == "help":
            return Outcome(conv, (step.help or texts.GENERIC_HELP, step.prompt(conv.data, ctx)))
        if move == "back":
            if not conv.history:
                return Outcome(conv, (texts.NO_STEP_BACK, step.prompt(conv.data, ctx)))
            previous = flow.step(conv.history[-1])
            back = replace(conv, step=previous.id, history=conv.history[:-1], retries=0, editing=False)
            return Outcome(back, (previous.prompt(back.data, ctx),))
        confirm = texts.CONFIRM_CANCEL if move == "cancel" else texts.CONFIRM_RESTART
        return Outcome(replace(conv, confirming=move), (confirm.format(title=flow.title),))

    def _confirm(self, flow: Flow, conv: Conversation, event: Event, ctx: Context) -> Outcome:
        answer = yes_or_no(event.text) if isinstance(event, UserText) else None
        move, switch_to = conv.confirming, conv.switch_to
        conv = replace(conv, confirming=None, switch_to=None)
        step = flow.step(conv.step)
        if move == "resume":
            choice = _resume_choice(event.text) if isinstance(event, UserText) else None
            if choice is None:
                return Outcome(replace(conv, confirming=move), (texts.RESUME_QUESTION.format(title=flow.title),))
            if choice == "continue":
                return Outcome(conv, (step.prompt(conv.data, ctx),))
            if choice == "cancel":
                return self._finish(flow, conv, (texts.CANCELLED.format(title=flow.title),),
                                    ended=abandoned(conv, "resume_declined"))
            return self._restart(flow, conv, ctx)
        if answer is None:
            return Outcome(replace(conv, confirming=move, switch_to=switch_to), (texts.YES_OR_NO,))
        if not answer:
            if isinstance(step, Do):
                return Outcome(replace(conv, confirming="retry"), (texts.CARRY_ON, texts.RETRY_PROMPT))
            return Outcome(conv, (texts.CARRY_ON, step.prompt(conv.data, ctx)))
        if move == "switch":
            return self._switch(conv, Start(switch_to["flow"], switch_to["data"]), ctx)
        if move == "cancel":
            return self._finish(flow, conv, (texts.CANCELLED.format(title=flow.title),),
                                ended=abandoned(conv, "cancel"))
        return self._restart(flow, conv, ctx)

    def _restart(self, flow: Flow, conv: Conversation, ctx: Context) -> Outcome:
        # What the flow was started with (a consent code, the service verification leads to, the
        # submission's idempotency key) is not an answer: starting again keeps it.
        given = {key: conv.data[key] for key in conv.given if key in conv.data}
        return _with(self._start(flow.id, given, ctx, paused=conv.paused), (abandoned(conv, "restart"),))

    # -- answers -----------------------------------------------------------------------------
    def _answer(self, flow: Flow, conv: Conversation, step: Step, event: Event, ctx: Context) -> Outcome:
        if not isinstance(step, Ask):
            return Outcome(conv)
        if isinstance(event, UserImage) != step.wants_image:
            message = texts.SEND_IMAGE if step.wants_image else texts.SEND_TEXT
            return self._invalid(flow, conv, step, message, ctx)
        raw = event.media_id if isinstance(event, UserImage) else event.text
        try:
            value = step.parse(raw, conv.data, ctx)
        except Invalid as invalid:
            # Not an answer, but maybe a question (“钱能用在哪？”): answer it, then ask again.
            answer = self.answer_question(raw) if isinstance(event, UserText) else None
            if answer:
                return Outcome(conv, (answer, step.prompt(conv.data, ctx)))
            return self._invalid(flow, conv, step, invalid.message, ctx)
        data = {**conv.data, step.field: value}
        answered = replace(conv, data=data, retries=0, history=conv.history + (step.id,))
        target = self.summary_step if conv.editing and self.summary_step in flow.steps else step.go(data, ctx)
        return self._enter(flow, replace(answered, editing=False), target, ctx)

    def _invalid(self, flow: Flow, conv: Conversation, step: Ask, message: str, ctx: Context) -> Outcome:
        retries = conv.retries + 1
        if retries >= MAX_RETRIES:
            return Outcome(replace(conv, retries=0), (message, texts.WAY_OUT.format(title=flow.title)),
                           milestones=(Milestone("way_out", flow.id, step.id),))
        return Outcome(replace(conv, retries=retries), (message,))

    def edit(self, conv: Conversation, number: int, ctx: Context) -> Outcome | None:
        """修改N at the summary: jump to the N-th labelled field, then straight back."""
        flow = self.flows[conv.flow]
        editable = [s for s in flow.steps.values() if isinstance(s, Ask) and s.label and s.field in conv.data]
        if not 1 <= number <= len(editable):
            return None
        step = editable[number - 1]
        return Outcome(replace(conv, step=step.id, editing=True, retries=0), (step.prompt(conv.data, ctx),))

    # -- starting and switching services -----------------------------------------------------
    def _start_requested(self, conv: Conversation, event: Start, ctx: Context) -> Outcome:
        if not conv.active or conv.flow not in self.flows:
            return self._switch(conv, event, ctx, keep=False)
        if conv.flow == event.flow:
            return self.ask_to_resume(conv)
        if conv.confirming == "resume":
            return self._switch(conv, event, ctx)   # not answering "continue?" is answer enough
        if not conv.history:
            return self._switch(conv, event, ctx, keep=False)  # nothing typed yet, nothing to keep
        question = texts.CONFIRM_SWITCH.format(current=self.flows[conv.flow].title,
                                               target=self.flows[event.flow].title)
        return Outcome(replace(conv, confirming="switch", switch_to={"flow": event.flow, "data": dict(event.data)}),
                       (question,))

    def _switch(self, conv: Conversation, event: Start, ctx: Context, keep: bool = True) -> Outcome:
        """Pause the current draft (if worth keeping) and start `event.flow`, or resume that flow's
        own paused draft."""
        left = (replace(conv, confirming=None, switch_to=None, paused=()),) if keep else ()
        others = tuple(p for p in conv.paused if p.flow not in (conv.flow, event.flow))
        paused = (left + others)[:MAX_PAUSED]
        earlier = next((p for p in conv.paused if p.flow == event.flow), None)
        lost = tuple(abandoned(p, "switch") for p in left + conv.paused
                     if p is not earlier and not any(p is kept for kept in paused))
        if conv.active and not keep:
            lost = (abandoned(conv, "switch" if conv.flow in self.flows else "gone"),) + lost
        if earlier is not None:
            return _with(self.ask_to_resume(replace(earlier, paused=paused)), lost)
        return _with(self._start(event.flow, dict(event.data), ctx, paused=paused), lost)

    def _start(self, flow_id: str, data: dict[str, Any], ctx: Context,
               paused: tuple[Conversation, ...] = ()) -> Outcome:
        replaced: tuple[Milestone, ...] = ()
        if flow_id in self.needs_identity and not ctx.user.get("verified"):
            flow_id, data = self.verify_flow, {"then": flow_id, "then_data": data}
            replaced = tuple(abandoned(p, "restart") for p in paused if p.flow == flow_id)
            paused = tuple(p for p in paused if p.flow != flow_id)
        flow = self.flows[flow_id]
        conv = Conversation(flow=flow.id, version=flow.version, data=data, started_at=ctx.now, updated_at=ctx.now,
                            paused=paused, given=tuple(data))
        return _with(self._enter(flow, conv, flow.first, ctx), replaced + (Milestone("started", flow.id),))

    def _finish(self, flow: Flow, conv: Conversation, replies: tuple[str, ...], ended: Milestone,
                result: Mapping[str, Any] | None = None) -> Outcome:
        """The flow is over (done or cancelled): offer the newest paused draft, if any. A flow that
        hands over to another (`then`) keeps the drafts for that one."""
        if conv.paused and not (result and result.get("then")):
            top, rest = conv.paused[0], conv.paused[1:]
            title = self.flows[top.flow].title if top.flow in self.flows else ""
            resumed = replace(top, paused=rest, confirming="resume")
            return Outcome(resumed, replies + (texts.RESUME_PAUSED.format(title=title),), finished=flow.id,
                           result=result, milestones=(ended,))
        return Outcome(Conversation(paused=conv.paused), replies, finished=flow.id, result=result,
                       milestones=(ended,))

    # -- moving through steps ----------------------------------------------------------------

    def _enter(self, flow: Flow, conv: Conversation, step_id: str, ctx: Context,
               said: tuple[str, ...] = ()) -> Outcome:
        step = flow.step(step_id)
        conv = replace(conv, step=step_id, retries=0)
        if isinstance(step, Ask):
            return Outcome(conv, said + (step.prompt(conv.data, ctx),))
        if isinstance(step, Do):
            return Outcome(conv, said, (Effect(step.effect, step.args(conv.data, ctx)),))
        return self._finish(flow, conv, said + (step.message(conv.data, ctx),),
                            ended=Milestone("completed", flow.id, step_id), result=conv.data)

    def _effect_done(self, flow: Flow, conv: Conversation, step: Step, event: EffectDone, ctx: Context) -> Outcome:
        if not isinstance(step, Do) or step.effect != event.effect:
            return Outcome(conv)  # a late result for a step the user has left: ignore it
        if event.ok:
            target, updates = step.on_ok(conv.data, ctx, event.value)
            return self._enter(flow, replace(conv, data={**conv.data, **updates}), target, ctx)
        if event.error == SERVICE_UNAVAILABLE:
            # Keep everything the user typed (if anything); they can try again with one word.
            busy = refusal(SERVICE_UNAVAILABLE) if conv.history else texts.SERVICE_BUSY
            return Outcome(replace(conv, confirming="retry"), (busy, texts.RETRY_PROMPT))
        target, message = step.on_error(conv.data, ctx, event.error)
        if target is None:
            return self._finish(flow, conv, (message,), ended=abandoned(conv, "refused"))
        return self._enter(flow, conv, target, ctx, said=(message,))

    def _migrate(self, flow: Flow, conv: Conversation, ctx: Context) -> Outcome:
        """A deploy changed this flow: keep the answers the new version still asks for and go on
        from the first question it has no answer to; say so plainly."""
        asked = {step.field for step in flow.steps.values() if isinstance(step, Ask)}
        data = {key: value for key, value in conv.data.items() if key in asked or key not in self._all_fields()}
        fresh = Conversation(flow=flow.id, version=flow.version, data=data, started_at=conv.started_at,
                             updated_at=ctx.now, paused=conv.paused)
        step_id, history, seen = flow.first, [], set()
        while step_id not in seen:
            seen.add(step_id)
            step = flow.step(step_id)
            if not (isinstance(step, Ask) and step.field in data):
                break
            history.append(step_id)
            step_id = step.go(data, ctx)
        outcome = self._enter(flow, replace(fresh, history=tuple(history)), step_id, ctx)
        return replace(outcome, replies=(texts.FLOW_CHANGED,) + outcome.replies)

    def _all_fields(self) -> set[str]:
        return {step.field for flow in self.flows.values() for step in flow.steps.values() if isinstance(step, Ask)}

    # -- resuming ----------------------------------------------------------------------------
    def ask_to_resume(self, conv: Conversation) -> Outcome:
        """After the idle window: 继续上次 or 重新开始, instead of silently going on or wiping."""
        flow = self.flows[conv.flow]
        return Outcome(replace(conv, confirming="resume", switch_to=None),
                       (texts.RESUME_QUESTION.format(title=flow.title),))


def _resume_choice(text: str) -> str | None:
    word = clean(text)
    if word in ("1", "继续", "继续上次", "接着办", "继续办理") or yes_or_no(text):
        return "continue"
    if word in ("2", "重新开始", "重新办理", "重来", "从头开始"):
        return "restart"
    if MOVES.get(word) == "cancel":
        return "cancel"
    return None
