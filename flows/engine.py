"""The step engine: flows declared as data, run by pure functions.

    handle(conversation, event, context) -> Outcome: the conversation after it, the replies, the
        effect to perform (if any), the flow that finished (and its data), milestones, transitions
    run(conversation, event, context, perform) -> the same, once every effect asked for is done

No Redis, no HTTP, no clock: the caller passes the time, the region's rules and the user in
`Context` (flows/context.py) and performs the effects (binding-service calls): `run` hands each to
`perform` — the handler's goes through the bot's limits, a test's gives canned results — and
feeds the result back as an `EffectDone` event until the engine waits for the user. The handler
then acts on a finished flow (links a verified identity and starts the service that asked for
it, or forgets one) and saves the conversation.

A flow is a dict of steps; each step's id is its key there (`Flow` sets it: a step never names
itself). Every declaration is in keywords:
  Ask   asks for one field: `prompt`, `parse` (raises `Invalid` with a re-prompt, or `Unclear`
        with one short question to ask before storing anything), `help`, and `next`: a step id,
        or a function of the answers that picks one of the ids in `to`
  Do    asks for an `effect` and routes on its result: `on_ok` and `on_error` pick one of the ids
        in `to` (on_error may also end the flow: None)
  End   says a last `message`; the flow is over
A flow's `Entry` says how people start it: phrases found in a sentence, a menu key, start data.

Two kinds of moves between steps:
  structural  the transitions a step declares: an answer stored (Ask's `next`), an effect's
              result (Do's `to`). Only these are drawn (flows/diagram.py → docs/flows/). `Flow`
              refuses at import a step that leads nowhere or to a missing step; the engine raises
              `UndeclaredTransition` when a step picks one it does not declare (a bug, like a
              missing step); outcomes list the `transitions` taken, and
              tests/test_flow_transitions.py takes every declared one.
  universal   the engine's own, the same in every flow, not drawn: help, back (to the question
              answered last), cancel and restart (both confirmed), 修改N at the summary (the
              item, then on along the declared transitions, re-asking the checks that depend on
              it), retry after an unavailable service, resume (after the idle window, or a
              paused draft), another service (the draft paused), a new flow version (on from the
              first question it has no answer to).
While a yes or no is awaited (`Conversation.confirming`) the next message answers that first.

Every text is read once by flows.understanding. At every Ask step, in this order:
  1. the moves that mean the same everywhere: help, back, cancel and restart (both confirmed),
     a human, a greeting, thanks, “wait a moment” — each answered, then the pending question;
  2. at the summary, an edit (修改2, 改名字, 名字写错了);
  3. the step's parser: an answer is stored, and whatever else the message said (a name and an
     ID number in one message) is kept in `prefill` and fills the later steps it answers;
  4. not an answer: another service asked for (switch, asked first), a question (the Q&A),
     small talk inside a sentence — else the parser's re-prompt.
After `MAX_RETRIES` invalid answers at one step, the user is offered a way out instead of a loop.

Starting another service in the middle of a flow (a menu click) asks first; on yes the draft is
paused, not lost, and offered again when the other service ends. A service that only shows
records is shown at once, the draft paused the same way; with nothing typed yet there is no
draft to keep. Services that need a verified identity (a recent one, for binding, unbinding and
consent) start with the verification flow, which then hands over to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flows import texts
from flows.context import Context
from flows.texts.refusals import refusal
from flows.understanding import Reading, read
from flows.understanding.intents import IntentIndex

MAX_RETRIES = 3
MAX_EFFECTS = 5  # effects in one run; a flow never chains more, this only guards against a loop
MAX_PAUSED = 3   # drafts kept while the user does something else; one per flow, so rarely reached

Data = Mapping[str, Any]


class Invalid(Exception):
    """The answer could not be used; `message` says why and how to answer instead. `ask_again`:
    the pending question follows the message (a refusal that is not itself a question)."""

    def __init__(self, message: str, ask_again: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.ask_again = ask_again


_NOTHING = object()


class Unclear(Exception):
    """Maybe an answer, but not clearly: ask `question` before storing anything.
    With `value`: a yes stores it, a no asks the step's question again.
    With `choices`: a number (or the choice itself) picks one, which the parser reads again."""

    def __init__(self, question: str, value: Any = _NOTHING, choices: tuple[str, ...] = ()) -> None:
        super().__init__(question)
        self.question, self.value, self.choices = question, value, choices


def refused(data: Data, ctx: Context, code: str) -> tuple[None, str]:
    """A `Do` step's on_error that ends the flow with the refusal in plain words."""
    return None, refusal(code)


def yes_or_no_answer(reprompt: str, kind: str = "") -> Callable[[str, Any, Any], bool]:
    """The parser of a yes/no question: anything but a yes or a no re-prompts with `reprompt`.
    `kind` names the question, whose own words count too (“不解除” to “确定要解除吗？”)."""
    def parse(text: str, data: Any, ctx: Any) -> bool:
        answer = read(text).yes_no(kind)
        if answer is None:
            raise Invalid(reprompt)
        return answer
    return parse


Text = Callable[[Data, Context], str]
Next = str | Callable[[Data, Context], str]   # a step id, or a choice among the ids in `to`


class UndeclaredTransition(Exception):
    """A step chose a next step it does not declare (`next`, `to`): a bug in the flow, refused like
    a missing step, so that the diagrams and the checks that walk the declarations stay true."""

    def __init__(self, step: str, target: str, declared: tuple[str, ...]) -> None:
        super().__init__(f"step {step!r} moved to {target!r}, which it does not declare: {declared}")
        self.step, self.target, self.declared = step, target, declared


def _declared(step: Ask | Do, target: str) -> str:
    if target not in step.targets:
        raise UndeclaredTransition(step.id, target, step.targets)
    return target


@dataclass(frozen=True, kw_only=True)
class Ask:
    field: str
    prompt: Text
    parse: Callable[[str, Data, Context], Any]
    next: Next
    to: tuple[str, ...] = ()  # where a callable `next` may lead (for diagrams and checks)
    help: str = ""
    label: str = ""          # shown in the summary; fields with a label can be changed with 修改N
    wants_image: bool = False
    slot: str = ""           # what this step takes from any message (name, id_number, relationship)
    aliases: tuple[str, ...] = ()   # words for this item at the summary (名字 → 姓名): “名字写错了”
    depends: tuple[str, ...] = ()   # fields whose change makes this answer stale (asked again)
    id: str = ""             # the step's key in its Flow, filled in by the Flow: never written by hand

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.next,) if isinstance(self.next, str) else self.to

    def go(self, data: Data, ctx: Context) -> str:
        """The next step for these answers; only a declared one."""
        return self.next if isinstance(self.next, str) else _declared(self, self.next(data, ctx))


@dataclass(frozen=True, kw_only=True)
class Do:
    effect: str
    args: Callable[[Data, Context], dict[str, Any]]
    # (data, context, result) -> (next step, data updates)
    on_ok: Callable[[Data, Context, Any], tuple[str, dict[str, Any]]]
    # (data, context, error code) -> (next step or None to end the flow, message)
    on_error: Callable[[Data, Context, str], tuple[str | None, str]]
    to: tuple[str, ...]      # every step on_ok and on_error may lead to
    id: str = ""             # filled in by the Flow, like Ask's

    @property
    def targets(self) -> tuple[str, ...]:
        return self.to

    def succeeded(self, data: Data, ctx: Context, value: Any) -> tuple[str, dict[str, Any]]:
        """on_ok's next step (only a declared one) and data updates."""
        target, updates = self.on_ok(data, ctx, value)
        return _declared(self, target), updates

    def failed(self, data: Data, ctx: Context, code: str) -> tuple[str | None, str]:
        """on_error's next step (only a declared one; None ends the flow) and what to say."""
        target, message = self.on_error(data, ctx, code)
        return (None if target is None else _declared(self, target)), message


@dataclass(frozen=True, kw_only=True)
class End:
    message: Text
    id: str = ""             # filled in by the Flow, like Ask's


Step = Ask | Do | End


@dataclass(frozen=True)
class Entry:
    """How people start a flow: `phrases` found anywhere in a sentence (“…” for a few words in
    between; each flow's are in flows/understanding/lexicon/services.toml), a custom-menu
    `menu_key`, the data it starts with (from what the message said, and the context), and — for a
    flow started by something other than words — `recognises`.
    `own_records`: the flow shows the user's own records, so a question naming it (余额还有多少？
    审核通过了没有？) asks for the flow, not for the policy Q&A."""
    phrases: tuple[str, ...] = ()
    menu_key: str = ""
    own_records: bool = False
    # Flows whose phrases this one's beat when a sentence has both: 把我儿子从共济里去掉 names
    # 共济 (bind) but asks to unbind; 我绑定了几个人 names 绑定 but asks for my family.
    outranks: tuple[str, ...] = ()
    start_data: Callable[[Reading | None, Context], dict[str, Any]] = lambda reading, ctx: {}
    # A reason not to start, said instead (nothing to sign out of); None: start.
    unless: Callable[[Context], str | None] = lambda ctx: None
    recognises: Callable[[Reading], bool] | None = None


@dataclass(frozen=True)
class Flow:
    """A flow's steps, by their ids: each step is declared once, under its key, and gets that
    key as its `id` here (a step never names itself)."""
    id: str
    version: int
    title: str
    first: str
    steps: Mapping[str, Step]
    entry: Entry | None = None

    def __post_init__(self) -> None:
        for key, step in self.steps.items():
            if step.id not in ("", key):
                raise ValueError(f"{self.id}: the step under {key!r} is already {step.id!r}")
        # A frozen dataclass sets its own field through object.__setattr__: once, here.
        object.__setattr__(self, "steps", {key: replace(step, id=key) for key, step in self.steps.items()})
        problems = self._declaration_problems()
        if problems:
            raise ValueError(f"flow {self.id!r}: " + "; ".join(problems))

    def _declaration_problems(self) -> list[str]:
        """What the declarations get wrong: a step that leads nowhere, or somewhere that is not a step."""
        problems = [] if self.first in self.steps else [f"no first step {self.first!r}"]
        for step in self.steps.values():
            if isinstance(step, End):
                continue
            if isinstance(step, Ask) and isinstance(step.next, str) and step.to:
                problems.append(f"{step.id}: `to` is for a callable `next`; this one is {step.next!r}")
            if not step.targets:
                problems.append(f"{step.id} declares no next step")
            problems += [f"{step.id} -> {target}: no such step" for target in step.targets if target not in self.steps]
        return problems

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
    # What the next message answers first: cancel | restart | switch (yes/no), resume (continue,
    # restart or cancel), retry (after an unavailable service), clarify (an `Unclear` question).
    confirming: str | None = None
    editing: bool = False              # 修改N: go straight back to the summary afterwards
    started_at: float = 0.0
    updated_at: float = 0.0
    switch_to: Mapping[str, Any] | None = None  # the service a click asked for, awaiting "leave this flow?"
    paused: tuple[Conversation, ...] = ()     # drafts left for another service, newest first
    given: tuple[str, ...] = ()        # the data keys the flow was started with: kept by 重新开始
    prefill: Mapping[str, str] = field(default_factory=dict)  # field -> what the user already said for it
    clarify: Mapping[str, Any] | None = None   # the short question asked before storing an unclear answer

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
class Unreadable:
    """A message the bot cannot read: a voice message without recognised text, a location, a
    video … `kind` is "voice" or "other"."""
    kind: str


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


Event = UserText | UserImage | Unreadable | Start | EffectDone


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
      limited          the bot's own limits (too many attempts) ended it
      gone             the flow no longer exists (a deploy removed it), or a paused draft left
                       when someone else verifies on this account
    A paused draft dropped by 退出验证 is abandoned for `cancel`.
    way_out marks three wrong answers in a row at `step`: the flow goes on."""
    kind: str           # started | completed | abandoned | way_out
    flow: str
    step: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Transition:
    """A step left for the next one it declares (an answer stored, an effect's result), or walked
    through on the way back to the summary after an edit."""
    flow: str
    source: str
    target: str


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    replies: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    finished: str | None = None        # the flow id that just ended (completed or cancelled)
    result: Mapping[str, Any] | None = None  # a completed flow's data, for the handler to act on
    milestones: tuple[Milestone, ...] = ()
    transitions: tuple[Transition, ...] = ()   # the declared steps taken, in order (the tests check them)

    def followed_by(self, later: Outcome) -> Outcome:
        """`later` (which went on from this outcome's conversation) with what this one said and
        recorded in front."""
        return replace(later, replies=self.replies + later.replies, milestones=self.milestones + later.milestones,
                       transitions=self.transitions + later.transitions)


# Runs an effect for the engine: the binding service (the handler's), canned results (tests').
Perform = Callable[[Effect], EffectDone]


def abandoned(conv: Conversation, reason: str) -> Milestone:
    return Milestone("abandoned", conv.flow or "", conv.step or "", reason)


def _with(outcome: Outcome, milestones: tuple[Milestone, ...]) -> Outcome:
    return replace(outcome, milestones=milestones + outcome.milestones) if milestones else outcome


def _after(transitions: tuple[Transition, ...], outcome: Outcome) -> Outcome:
    return replace(outcome, transitions=transitions + outcome.transitions) if transitions else outcome


def _wait_in_words(seconds: float) -> str:
    minutes = max(1, -(-int(seconds) // 60))
    return texts.WAIT_MINUTES.format(n=minutes) if minutes < 120 else texts.WAIT_HOURS.format(n=-(-minutes // 60))


SERVICE_UNAVAILABLE = "service_unavailable"
TOO_MANY_ATTEMPTS = "too_many_attempts"   # the bot's own limits; the effect's value has retry_after (s)


class Engine:
    def __init__(self, flows: Mapping[str, Flow], summary_step: str = "summary",
                 answer_question: Callable[[str], str | None] = lambda text: None,
                 answer_statement: Callable[[str], str | None] = lambda text: None,
                 needs_identity: frozenset[str] = frozenset(), verify_flow: str = "verify",
                 needs_fresh_identity: frozenset[str] = frozenset(),
                 no_answer: str = texts.NOT_UNDERSTOOD, human: str = texts.HUMAN) -> None:
        self.flows = flows
        self.no_answer = no_answer   # a question nobody can answer here: what the Q&A knows instead
        self.human = human           # where to find a person (the hotline, the service hall)
        self.summary_step = summary_step
        self.answer_question = answer_question
        self.answer_statement = answer_statement   # the Q&A for what is not a question: a clearer match
        self.needs_identity = needs_identity   # started through `verify_flow` unless ctx.user.verified
        self.needs_fresh_identity = needs_fresh_identity   # ... unless ctx.user.fresh (verified lately)
        self.verify_flow = verify_flow
        self.intents = IntentIndex({flow.id: flow.entry.phrases for flow in flows.values() if flow.entry},
                                   {flow.id: flow.entry.outranks for flow in flows.values() if flow.entry})
        self.menu_keys = {flow.entry.menu_key: flow.id for flow in flows.values() if flow.entry and flow.entry.menu_key}

    # The one entry point.
    def handle(self, conv: Conversation, event: Event, ctx: Context) -> Outcome:
        if isinstance(event, Start):
            return self._start_requested(conv, event, ctx)
        if not conv.active:
            return self._idle(conv, event, ctx) if isinstance(event, (UserText, UserImage, Unreadable)) \
                else Outcome(conv)
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
        if isinstance(event, Unreadable):
            hint = texts.VOICE_UNHEARD if event.kind == "voice" else texts.SEND_TEXT
            return Outcome(conv, (hint, step.prompt(conv.data, ctx)))
        if isinstance(event, UserText):
            reading = read(event.text)
            if reading.move:
                return self._move(flow, conv, reading.move, ctx)
            summary = step.id == self.summary_step
            edited = self._edit_item(flow, conv, reading, ctx) if summary else None   # 名字重新弄一下
            if edited:
                return edited
            if reading.move_inside in ("cancel", "restart") or (summary and reading.move_inside == "wait"):
                return self._move(flow, conv, reading.move_inside, ctx)   # 不提交了，取消 / 等下，我再看看
            if summary and (reading.wants_change or reading.yes_no("summary") is False):
                return Outcome(conv, (texts.WHICH_ITEM,))     # 填错了, 有一项不对: which one?
            # “稍等我问问我儿子”, “刚才名字写错了”: not an answer, whatever else it names — unless a
            # part of it apart from the move answers: 名字是李秀英，她身份证我去拿一下.
            if reading.move_inside in _NOT_AN_ANSWER:
                return self._answered_apart(flow, conv, step, reading, ctx) or \
                    self._move(flow, conv, reading.move_inside, ctx)
        return self._answer(flow, conv, step, event, ctx)

    def run(self, conv: Conversation, event: Event, ctx: Context, perform: Perform) -> Outcome:
        """`handle`, then each effect the outcome asks for, done by `perform` and fed back, until
        the engine waits for the user (or MAX_EFFECTS ran): one outcome, its replies, milestones
        and transitions those of every step on the way."""
        outcome = self.handle(conv, event, ctx)
        for _ in range(MAX_EFFECTS):
            if not outcome.effects:
                break
            [effect] = outcome.effects
            outcome = outcome.followed_by(self.handle(outcome.conversation, perform(effect), ctx))
        return outcome

    def start_for(self, menu_key: str) -> str | None:
        """The flow a custom-menu click starts."""
        return self.menu_keys.get(menu_key)

    def start_data(self, flow_id: str, reading: Reading | None, ctx: Context) -> dict[str, Any]:
        entry = self.flows[flow_id].entry
        return entry.start_data(reading, ctx) if entry else {}

    def _at_do_step(self, flow: Flow, conv: Conversation, step: Do, event: Event, ctx: Context) -> Outcome:
        """Only reachable after the binding service was unavailable: offer to try again."""
        if conv.confirming in ("cancel", "switch"):
            return self._confirm(flow, conv, event, ctx)
        reading = read(event.text) if isinstance(event, UserText) else None
        if reading and reading.yes_no("retry"):
            return self._enter(flow, replace(conv, confirming=None), step.id, ctx)
        if reading and reading.move == "cancel":
            return Outcome(replace(conv, confirming="cancel"), (texts.CONFIRM_CANCEL.format(title=flow.title),))
        return Outcome(replace(conv, confirming="retry"), (texts.RETRY_PROMPT,))

    # -- when no flow is going on ----------------------------------------------------------------
    def _idle(self, conv: Conversation, event: UserText | UserImage | Unreadable, ctx: Context) -> Outcome:
        """A message outside any flow: a flow's own start (a consent code), small talk, a service
        asked for in a sentence, a policy question, else what the bot can do. (`conv` is idle,
        but may hold drafts paused for later.)"""
        if not isinstance(event, UserText):
            voice = isinstance(event, Unreadable) and event.kind == "voice"
            return Outcome(conv, (texts.VOICE_UNHEARD if voice else texts.UNSUPPORTED_MESSAGE,))
        reading = read(event.text)
        for flow in self.flows.values():
            if flow.entry and flow.entry.recognises and flow.entry.recognises(reading):
                return self.handle(conv, Start(flow.id, self.start_data(flow.id, reading, ctx)), ctx)
        if reading.move:
            return Outcome(conv, (self._idle_move(reading.move),))
        wanted = self._service_asked_for(reading)
        if wanted:
            return self.handle(conv, Start(wanted, self.start_data(wanted, reading, ctx)), ctx)
        # A statement (我孙子考上大学了) is answered from the Q&A only when the match is clear.
        answer = self.answer_question(event.text) if reading.question else self.answer_statement(event.text)
        if answer:
            return Outcome(conv, (answer,))
        if reading.move_inside:
            return Outcome(conv, (self._idle_move(reading.move_inside),))
        return Outcome(conv, (self.no_answer if reading.question else texts.NOT_UNDERSTOOD,))

    def _idle_move(self, move: str) -> str:
        return self.human if move == "human" else texts.IDLE_MOVES[move]

    def _service_asked_for(self, reading: Reading) -> str | None:
        """The service a sentence asks for. A service named inside a policy question the Q&A can
        answer (绑定了以后钱能取出来吗, 家庭共济是什么) is the question's topic, not a request; a
        request (怎么绑定, 帮我绑) and a question about one's own records (审核通过了没有) are."""
        found = self.intents.find(reading.word)
        if found is None:
            return None
        flow_id = found[0]
        entry = self.flows[flow_id].entry
        if not reading.question or reading.is_request:
            return flow_id
        if reading.how_to_for_someone:
            return flow_id    # 我老婆子看病想用我卡里的钱，要怎么弄: how to do it, for someone — do it
        if reading.about_rules or not (entry and entry.own_records):
            # 城乡居民医保能给家人共济吗, 一般多久能审核好: about the rules. The Q&A answers; a
            # question about the rules that names no one is never taken for a request.
            if self.answer_question(reading.raw) or not (reading.kin_within or reading.name_within):
                return None
        return flow_id

    # -- moves -------------------------------------------------------------------------------
    def _move(self, flow: Flow, conv: Conversation, move: str, ctx: Context) -> Outcome:
        step = flow.step(conv.step)
        prompt = step.prompt(conv.data, ctx)
        if move == "help":
            return Outcome(conv, (step.help or texts.GENERIC_HELP, prompt))
        if move == "human":
            return Outcome(conv, (self.human + texts.DRAFT_KEPT, prompt))
        if move in texts.STEP_MOVES:
            return Outcome(conv, (texts.STEP_MOVES[move], prompt))
        if move == "back":
            if not conv.history:
                return Outcome(conv, (texts.NO_STEP_BACK, prompt))
            previous = flow.step(conv.history[-1])
            back = replace(conv, step=previous.id, history=conv.history[:-1], retries=0, editing=False)
            return Outcome(back, (previous.prompt(back.data, ctx),))
        confirm = texts.CONFIRM_CANCEL if move == "cancel" else texts.CONFIRM_RESTART
        return Outcome(replace(conv, confirming=move), (confirm.format(title=flow.title),))

    def _confirm(self, flow: Flow, conv: Conversation, event: Event, ctx: Context) -> Outcome:
        move, switch_to = conv.confirming, conv.switch_to
        if move == "clarify":
            return self._clarified(flow, conv, event, ctx)
        reading = read(event.text) if isinstance(event, UserText) else None
        answer = reading.yes_no(move) if reading else None
        conv = replace(conv, confirming=None, switch_to=None)
        step = flow.step(conv.step)
        if move == "resume":
            choice = reading.resume_choice if reading else None
            wanted = self._service_asked_for(reading) if reading and choice is None else None
            if wanted:   # another service asked for instead: that is answer enough
                return self._start_requested(replace(conv, confirming="resume"),
                                             Start(wanted, self.start_data(wanted, reading, ctx)), ctx)
            if choice is None:
                return Outcome(replace(conv, confirming=move), (texts.RESUME_QUESTION.format(title=flow.title),))
            if choice == "continue":
                if self._stale(flow.id, ctx):
                    return self._verify_first(conv, ctx)
                if isinstance(step, Do):   # it waited for a verification: go on with it now
                    return self._enter(flow, conv, step.id, ctx)
                return Outcome(conv, (step.prompt(conv.data, ctx),))
            if choice == "cancel":
                return self._finish(flow, conv, (texts.CANCELLED.format(title=flow.title),),
                                    ended=abandoned(conv, "resume_declined"))
            return self._restart(flow, conv, ctx)
        if answer is None:
            waiting = replace(conv, confirming=move, switch_to=switch_to)
            said = reading.move_inside if reading else None
            if said in ("help", "human", "greeting", "thanks", "wait"):
                aside = self.human + texts.DRAFT_KEPT if said == "human" else texts.STEP_MOVES.get(said, "")
                return Outcome(waiting, tuple(t for t in (aside, self._confirmation(flow, waiting)) if t))
            return Outcome(waiting, (texts.YES_OR_NO,))
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

    def _confirmation(self, flow: Flow, conv: Conversation) -> str:
        """The yes/no question pending in `conv.confirming`, to ask again."""
        if conv.confirming == "switch" and conv.switch_to:
            return texts.CONFIRM_SWITCH.format(current=flow.title, target=self.flows[conv.switch_to["flow"]].title)
        if conv.confirming == "retry":
            return texts.RETRY_PROMPT
        confirm = texts.CONFIRM_CANCEL if conv.confirming == "cancel" else texts.CONFIRM_RESTART
        return confirm.format(title=flow.title)

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
            if isinstance(event, UserText):
                aside = self._aside(flow, conv, step, read(event.text), ctx)
                if aside:
                    return aside
            message = texts.SEND_IMAGE if step.wants_image else texts.SEND_TEXT
            return self._invalid(flow, conv, step, message, ctx, ask_again=not step.wants_image)
        raw = event.media_id if isinstance(event, UserImage) else event.text
        try:
            value = step.parse(raw, conv.data, ctx)
        except Unclear as unclear:
            wanted = self._service_asked_for(read(raw)) if isinstance(event, UserText) else None
            if wanted and wanted != conv.flow:   # 余额 at a name step: a service, not a name to ask about
                return self._start_requested(conv, Start(wanted, self.start_data(wanted, read(raw), ctx)), ctx)
            return self._ask_to_clarify(conv, unclear)
        except Invalid as invalid:
            if isinstance(event, UserText):
                aside = self._aside(flow, conv, step, read(raw), ctx)
                if aside:
                    return aside
            return self._invalid(flow, conv, step, invalid.message, ctx, invalid.ask_again)
        said = read(raw) if isinstance(event, UserText) else None
        return self._store(flow, conv, step, value, ctx, said=said)

    def _answered_apart(self, flow: Flow, conv: Conversation, step: Step, reading: Reading,
                        ctx: Context) -> Outcome | None:
        """A name or an ID number said in its own part of a message whose other part is a move."""
        if not isinstance(step, Ask) or step.slot not in ("name", "id_number"):
            return None
        for clause in reading.clauses:
            if read(clause).move_inside:
                continue
            try:
                value = step.parse(clause, conv.data, ctx)
            except (Invalid, Unclear):
                continue
            return self._store(flow, conv, step, value, ctx)
        return None

    def _aside(self, flow: Flow, conv: Conversation, step: Ask, reading: Reading, ctx: Context) -> Outcome | None:
        """Not an answer, but something else worth answering: another service, a question, small
        talk inside a sentence. Then the pending question again."""
        prompt = step.prompt(conv.data, ctx)
        found = self.intents.find(reading.word)
        if reading.question and any(word in reading.word for word in (step.label, *step.aliases) if word):
            # 写身份证上的名字吗？ at the name: about this step.
            return Outcome(conv, (step.help or texts.GENERIC_HELP, prompt))
        if reading.question and found and found[0] == conv.flow:
            # 绑定后钱能取现吗？ while binding: the Q&A when it clearly knows, else the step's help
            # (解除了会怎么样？ while unbinding is about this very step).
            return Outcome(conv, (self.answer_statement(reading.raw) or step.help or texts.GENERIC_HELP, prompt))
        wanted = self._service_asked_for(reading)
        if wanted == conv.flow:
            return Outcome(conv, (texts.ALREADY_HERE.format(title=flow.title), prompt))
        if wanted:
            return self._start_requested(conv, Start(wanted, self.start_data(wanted, reading, ctx)), ctx)
        if reading.move_inside:
            return self._move(flow, conv, reading.move_inside, ctx)
        if reading.question:
            answer = self.answer_question(reading.raw)
            return Outcome(conv, (answer or step.help or texts.GENERIC_HELP, prompt))
        return None

    def _store(self, flow: Flow, conv: Conversation, step: Ask, value: Any, ctx: Context,
               said: Reading | None = None, replies: tuple[str, ...] = ()) -> Outcome:
        """Keep the answer, drop answers that depended on the old one, keep what else the message
        said for the steps it answers, and go on."""
        changed = conv.data.get(step.field, _NOTHING) != value
        data = {**conv.data, step.field: value}
        if changed and step.field in conv.data:
            stale = self._depending_on(flow, step.field)
            data = {key: item for key, item in data.items() if key not in stale}
        prefill = dict(conv.prefill)
        if said is not None:
            prefill.update(self._said_for_later(flow, step, said, data))
        answered = replace(conv, data=data, retries=0, history=conv.history + (step.id,), prefill=prefill,
                           clarify=None)
        if conv.editing and self.summary_step in flow.steps:
            return self._after_edit(flow, answered, step, ctx, replies)
        return self._take(flow, replace(answered, editing=False), step, step.go(data, ctx), ctx, said=replies)

    def _depending_on(self, flow: Flow, changed: str) -> set[str]:
        """The fields whose answers go stale when `changed` changes (transitively)."""
        stale, frontier = set(), [changed]
        while frontier:
            field_ = frontier.pop()
            for other in flow.steps.values():
                if isinstance(other, Ask) and field_ in other.depends and other.field not in stale:
                    stale.add(other.field)
                    frontier.append(other.field)
        return stale

    def _said_for_later(self, flow: Flow, step: Ask, said: Reading, data: Mapping[str, Any]) -> dict[str, str]:
        """What else one message said (李秀英，3301…): for each later step that takes that kind
        of slot and has no answer yet."""
        slots = said.slots
        later = {}
        for other in flow.steps.values():
            if (isinstance(other, Ask) and other is not step and other.slot and other.slot != step.slot
                    and slots.get(other.slot) and other.field not in data):
                later[other.field] = slots[other.slot]
        return later

    def _ask_to_clarify(self, conv: Conversation, unclear: Unclear) -> Outcome:
        clarify = {"question": unclear.question, "choices": list(unclear.choices)}
        if unclear.value is not _NOTHING:
            clarify["value"] = unclear.value
        return Outcome(replace(conv, confirming="clarify", clarify=clarify), (unclear.question,))

    def _clarified(self, flow: Flow, conv: Conversation, event: Event, ctx: Context) -> Outcome:
        """The answer to an `Unclear` question: a yes (or the choice's number) settles it; a no
        asks the step's question again; anything else is a fresh answer to that question."""
        step, clarify = flow.step(conv.step), conv.clarify or {}
        conv = replace(conv, confirming=None, clarify=None)
        reading = read(event.text) if isinstance(event, UserText) else None
        if reading is None or not isinstance(step, Ask):
            return self.handle(conv, event, ctx)
        choices = clarify.get("choices") or []
        if "value" in clarify:
            answer = reading.yes_no()
            if answer:
                return self._store(flow, conv, step, clarify["value"], ctx)
            if answer is False:
                return Outcome(conv, (texts.SAY_AGAIN, step.prompt(conv.data, ctx)))
        elif choices:
            answer = reading.yes_no() if len(choices) == 1 else None   # 您是说“老伴”吗？ — 是
            if answer:
                return self._answer(flow, conv, step, UserText(choices[0]), ctx)
            if answer is False:
                return Outcome(conv, (texts.SAY_AGAIN, step.prompt(conv.data, ctx)))
            picked = reading.number
            if picked is not None and 1 <= picked <= len(choices):
                return self._answer(flow, conv, step, UserText(choices[picked - 1]), ctx)
            if reading.word in choices:
                return self._answer(flow, conv, step, UserText(reading.word), ctx)
        if reading.move:
            return self._move(flow, conv, reading.move, ctx)
        return self._answer(flow, conv, step, event, ctx)

    def _invalid(self, flow: Flow, conv: Conversation, step: Ask, message: str, ctx: Context,
                 ask_again: bool = False) -> Outcome:
        retries = conv.retries + 1
        said = (message, step.prompt(conv.data, ctx)) if ask_again else (message,)
        if retries >= MAX_RETRIES:
            return Outcome(replace(conv, retries=0), said + (texts.WAY_OUT.format(title=flow.title),),
                           milestones=(Milestone("way_out", flow.id, step.id),))
        return Outcome(replace(conv, retries=retries), said)

    # -- editing from the summary ------------------------------------------------------------
    def _editable(self, flow: Flow, conv: Conversation) -> list[Ask]:
        return [s for s in flow.steps.values() if isinstance(s, Ask) and s.label and s.field in conv.data]

    def _edit_item(self, flow: Flow, conv: Conversation, reading: Reading, ctx: Context) -> Outcome | None:
        """At the summary: 修改2, 第二项要改一下, 改名字, 名字写错了, 秀英的英写错了 → that item; 不是配偶，
        是我妈 / 把名字改成李秀瑛 → that item changed at once. An item said to be right (名字是对的，
        身份证号错了) is not the one meant. A yes with nothing to change is no edit."""
        if reading.yes_no("summary") and not reading.wants_change:
            return None
        editable = self._editable(flow, conv)
        if reading.item_number is not None:
            return self.edit(conv, reading.item_number, ctx) or self._invalid(flow, conv, flow.step(conv.step),
                                                                            texts.NO_SUCH_ITEM, ctx)
        if not (reading.wants_change or len(reading.word) <= 4):
            return None
        for clause in reading.clauses_to_change or (reading.word,):
            for number, step in enumerate(editable, start=1):
                if any(word in clause for word in (step.label, *step.aliases)) or \
                        (reading.wants_change and _mentions(conv.data.get(step.field), clause)):
                    return self._edit_with(flow, conv, number, step, reading, ctx)
        # 不是配偶，是我妈: a relative named; 应该是…0224: a number — the item of that kind.
        said = {"relationship": reading.kin_within, "id_number": reading.number_runs}
        for number, step in enumerate(editable, start=1):
            if said.get(step.slot):
                return self._edit_with(flow, conv, number, step, reading, ctx)
        return None

    def _edit_with(self, flow: Flow, conv: Conversation, number: int, step: Ask, reading: Reading,
                   ctx: Context) -> Outcome | None:
        """Go to the item; when the message already says the new value (改成李秀瑛, 是我妈), use it."""
        editing = self.edit(conv, number, ctx)
        if reading.new_value is None or editing is None or step.wants_image:
            return editing
        try:
            value = step.parse(reading.new_value, conv.data, ctx)
        except (Invalid, Unclear):
            return editing
        if value == conv.data.get(step.field):
            return editing        # the same as before: the new value was not understood, so ask
        return self._store(flow, editing.conversation, step, value, ctx)

    def edit(self, conv: Conversation, number: int, ctx: Context) -> Outcome | None:
        """修改N at the summary: ask the N-th labelled field again; then every check that depends
        on it runs again on the way back to the summary."""
        flow = self.flows[conv.flow]
        editable = self._editable(flow, conv)
        if not 1 <= number <= len(editable):
            return None
        step = editable[number - 1]
        return Outcome(replace(conv, step=step.id, editing=True, retries=0), (step.prompt(conv.data, ctx),))

    def _after_edit(self, flow: Flow, conv: Conversation, edited: Ask, ctx: Context,
                    said: tuple[str, ...] = ()) -> Outcome:
        """Walk on from the edited step as if answering anew, skipping the questions still answered:
        a check that depends on the change (an age that does not fit the relationship, a photo for
        a minor) is asked again; answers off the new path are dropped; then the summary."""
        order = list(flow.steps)
        here, step_id, seen = edited.id, edited.go(conv.data, ctx), set()
        walked = [Transition(flow.id, here, step_id)]
        while step_id not in seen:
            seen.add(step_id)
            step = flow.step(step_id)
            backwards = order.index(step_id) <= order.index(here)   # “否” to a check: that question again
            if step_id == self.summary_step or not isinstance(step, Ask) or step.field not in conv.data or backwards:
                break
            here, step_id = step_id, step.go(conv.data, ctx)
            walked.append(Transition(flow.id, here, step_id))
        if step_id == self.summary_step:
            asked = {s.field for s in flow.steps.values() if isinstance(s, Ask) and s.id != self.summary_step}
            reachable = self._fields_on_path(flow, conv, ctx)
            data = {k: v for k, v in conv.data.items() if k not in asked or k in reachable}
            conv = replace(conv, data=data, editing=False)
        return _after(tuple(walked), self._enter(flow, conv, step_id, ctx, said=said))

    def _fields_on_path(self, flow: Flow, conv: Conversation, ctx: Context) -> set[str]:
        """The fields asked on the way from the first step to the summary, with these answers."""
        fields_, step_id, seen = set(), flow.first, set()
        while step_id not in seen and step_id != self.summary_step:
            seen.add(step_id)
            step = flow.step(step_id)
            if isinstance(step, Ask):
                if step.field not in conv.data:
                    break
                fields_.add(step.field)
                step_id = step.go(conv.data, ctx)
            elif isinstance(step, Do):
                # Past an effect only by an answered step after it: follow its targets' first Ask.
                step_id = next((t for t in step.targets if isinstance(flow.step(t), Ask)), self.summary_step)
            else:
                break
        return fields_

    # -- starting and switching services -----------------------------------------------------
    def _start_requested(self, conv: Conversation, event: Start, ctx: Context) -> Outcome:
        if not conv.active or conv.flow not in self.flows:
            return self._switch(conv, event, ctx, keep=False)
        if conv.flow == event.flow:
            return self._verify_first(conv, ctx) if self._stale(conv.flow, ctx) else self.ask_to_resume(conv)
        if conv.confirming == "resume":
            return self._switch(conv, event, ctx)   # not answering "continue?" is answer enough
        if not conv.history:
            return self._switch(conv, event, ctx, keep=False)  # nothing typed yet, nothing to keep
        if not any(isinstance(step, Ask) for step in self.flows[event.flow].steps.values()):
            # A look at one's records (我的家人, 共济记录) asks nothing: shown at once, and the draft
            # is offered again right after it.
            return self._switch(conv, event, ctx)
        question = texts.CONFIRM_SWITCH.format(current=self.flows[conv.flow].title,
                                               target=self.flows[event.flow].title)
        return Outcome(replace(conv, confirming="switch", clarify=None,
                               switch_to={"flow": event.flow, "data": dict(event.data)}), (question,))

    def _switch(self, conv: Conversation, event: Start, ctx: Context, keep: bool = True) -> Outcome:
        """Pause the current draft (if worth keeping) and start `event.flow`, or resume that flow's
        own paused draft."""
        left = (replace(conv, confirming=None, switch_to=None, clarify=None, paused=()),) if keep else ()
        others = tuple(p for p in conv.paused if p.flow not in (conv.flow, event.flow))
        paused = (left + others)[:MAX_PAUSED]
        earlier = next((p for p in conv.paused if p.flow == event.flow), None)
        lost = tuple(abandoned(p, "switch") for p in left + conv.paused
                     if p is not earlier and not any(p is kept for kept in paused))
        if conv.active and not keep:
            lost = (abandoned(conv, "switch" if conv.flow in self.flows else "gone"),) + lost
        if earlier is not None:
            earlier = replace(earlier, paused=paused)
            resumed = self._verify_first(earlier, ctx) if self._stale(earlier.flow, ctx) else self.ask_to_resume(earlier)
            return _with(resumed, lost)
        return _with(self._start(event.flow, dict(event.data), ctx, paused=paused), lost)

    def _stale(self, flow_id: str | None, ctx: Context) -> bool:
        """A service that needs a recent verification, for a user verified too long ago."""
        return flow_id in self.needs_fresh_identity and ctx.user.verified and not ctx.user.fresh

    def _verify_first(self, draft: Conversation, ctx: Context, said: tuple[str, ...] = ()) -> Outcome:
        """A draft that needs a recent verification, met after the window (about to act, or being
        resumed): it waits, paused where it is, while verification runs, and is offered right after."""
        kept = replace(draft, confirming=None, switch_to=None, clarify=None, paused=())
        waiting = (kept,) + tuple(p for p in draft.paused if p.flow != draft.flow)
        outcome = self._start(draft.flow, {}, ctx, paused=waiting[:MAX_PAUSED])
        lost = tuple(abandoned(p, "switch") for p in waiting[MAX_PAUSED:])
        return _with(replace(outcome, replies=said + outcome.replies), lost)

    def _start(self, flow_id: str, data: dict[str, Any], ctx: Context,
               paused: tuple[Conversation, ...] = ()) -> Outcome:
        replaced: tuple[Milestone, ...] = ()
        if flow_id in self.needs_identity and (not ctx.user.verified or self._stale(flow_id, ctx)):
            again = {"again": True} if ctx.user.verified else {}
            flow_id, data = self.verify_flow, {"then": flow_id, "then_data": data, **again}
            replaced = tuple(abandoned(p, "restart") for p in paused if p.flow == flow_id)
            paused = tuple(p for p in paused if p.flow != flow_id)
        flow = self.flows[flow_id]
        said_instead = flow.entry.unless(ctx) if flow.entry else None
        if said_instead:
            return Outcome(Conversation(paused=paused), (said_instead,))
        prefill = data.pop("prefill", None) or {}
        conv = Conversation(flow=flow.id, version=flow.version, data=data, started_at=ctx.now, updated_at=ctx.now,
                            paused=paused, given=tuple(data), prefill=prefill)
        return _with(self._enter(flow, conv, flow.first, ctx), replaced + (Milestone("started", flow.id),))

    def _finish(self, flow: Flow, conv: Conversation, replies: tuple[str, ...], ended: Milestone,
                result: Mapping[str, Any] | None = None) -> Outcome:
        """The flow is over (done or cancelled): offer the newest paused draft, if any. A flow that
        hands over to another (`then`) keeps the drafts for that one."""
        if result and result.get("forget_identity"):
            # 退出验证: nothing of this person stays with this account, paused drafts included.
            gone = tuple(abandoned(p, "cancel") for p in conv.paused)
            return Outcome(Conversation(), replies, finished=flow.id, result=result, milestones=(ended,) + gone)
        if conv.paused and not (result and result.get("then")):
            top, rest = conv.paused[0], conv.paused[1:]
            title = self.flows[top.flow].title if top.flow in self.flows else ""
            resumed = replace(top, paused=rest, confirming="resume")
            return Outcome(resumed, replies + (texts.RESUME_PAUSED.format(title=title),), finished=flow.id,
                           result=result, milestones=(ended,))
        return Outcome(Conversation(paused=conv.paused), replies, finished=flow.id, result=result,
                       milestones=(ended,))

    # -- moving through steps ----------------------------------------------------------------

    def _take(self, flow: Flow, conv: Conversation, source: Step, target: str, ctx: Context,
              said: tuple[str, ...] = ()) -> Outcome:
        """Leave `source` for `target`, one of the steps it declares (Ask.go, Do.succeeded and
        Do.failed have checked), and say so in the outcome."""
        return _after((Transition(flow.id, source.id, target),), self._enter(flow, conv, target, ctx, said))

    def _enter(self, flow: Flow, conv: Conversation, step_id: str, ctx: Context,
               said: tuple[str, ...] = ()) -> Outcome:
        step = flow.step(step_id)
        conv = replace(conv, step=step_id, retries=0)
        if isinstance(step, Ask):
            if step.field in conv.prefill:
                return self._prefilled(flow, conv, step, ctx, said)
            return Outcome(conv, said + (step.prompt(conv.data, ctx),))
        if isinstance(step, Do):
            if self._stale(flow.id, ctx):
                return self._verify_first(conv, ctx, said)
            return Outcome(conv, said, (Effect(step.effect, step.args(conv.data, ctx)),))
        gone: tuple[Milestone, ...] = ()
        if flow.id == self.verify_flow and conv.paused and \
                (conv.data.get("person") or {}).get("person_id") != ctx.user.person_id:
            # Someone else has verified on this account: what was left unfinished is not theirs.
            gone, conv = tuple(abandoned(p, "gone") for p in conv.paused), replace(conv, paused=())
        return _with(self._finish(flow, conv, said + (step.message(conv.data, ctx),),
                                  ended=Milestone("completed", flow.id, step_id), result=conv.data), gone)

    def _prefilled(self, flow: Flow, conv: Conversation, step: Ask, ctx: Context, said: tuple[str, ...]) -> Outcome:
        """The user already said this (帮我把老伴李秀英绑上): use it, without asking again, and say
        so; it is shown in the summary for confirmation. An unusable one is asked for."""
        raw = conv.prefill[step.field]
        conv = replace(conv, prefill={k: v for k, v in conv.prefill.items() if k != step.field})
        try:
            value = step.parse(raw, conv.data, ctx)
        except Unclear as unclear:
            outcome = self._ask_to_clarify(conv, unclear)
            return replace(outcome, replies=said + outcome.replies)
        except Invalid as invalid:
            return Outcome(conv, said + (invalid.message, step.prompt(conv.data, ctx)))
        noted = () if any(texts.NOTED_PREFIX in line for line in said) else (
            texts.NOTED.format(items=texts.LIST_COMMA.join(s.label for s in flow.steps.values()
                                               if isinstance(s, Ask) and s.label and
                                               (s.field in conv.prefill or s is step))),)
        return self._store(flow, conv, step, value, ctx, replies=said + noted)

    def _effect_done(self, flow: Flow, conv: Conversation, step: Step, event: EffectDone, ctx: Context) -> Outcome:
        if not isinstance(step, Do) or step.effect != event.effect:
            return Outcome(conv)  # a late result for a step the user has left: ignore it
        if event.ok:
            target, updates = step.succeeded(conv.data, ctx, event.value)
            return self._take(flow, replace(conv, data={**conv.data, **updates}), step, target, ctx)
        if event.error == SERVICE_UNAVAILABLE:
            # Keep everything the user typed (if anything); they can try again with one word.
            busy = refusal(SERVICE_UNAVAILABLE) if conv.history else texts.SERVICE_BUSY
            return Outcome(replace(conv, confirming="retry"), (busy, texts.RETRY_PROMPT))
        if event.error == TOO_MANY_ATTEMPTS:
            # Nothing to retry for a while: the draft (and what it holds) goes, the wait is said.
            wait = _wait_in_words((event.value or {}).get("retry_after", 3600))
            return self._finish(flow, conv, (texts.TOO_MANY_ATTEMPTS.format(wait=wait),),
                                ended=abandoned(conv, "limited"))
        target, message = step.failed(conv.data, ctx, event.error)
        if target is None:
            return self._finish(flow, conv, (message,), ended=abandoned(conv, "refused"))
        return self._take(flow, conv, step, target, ctx, said=(message,))

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
        return Outcome(replace(conv, confirming="resume", switch_to=None, clarify=None),
                       (texts.RESUME_QUESTION.format(title=flow.title),))


# Said inside a sentence, these mean the sentence is not an answer (稍等我问问我儿子).
_NOT_AN_ANSWER = frozenset({"wait", "back", "cancel", "restart", "human", "help"})


def _mentions(value: Any, word: str) -> bool:
    """秀英的英写错了: the message quotes two characters of the stored answer."""
    if not isinstance(value, str) or len(value) < 2:
        return False
    return any(value[i:i + 2] in word for i in range(len(value) - 1))
