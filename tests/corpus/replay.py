"""Replays the corpus (tests/corpus/*.toml) through the real /wechat endpoint.

Each case puts a fresh user at a step (their draft written into Redis as the product writes it,
their identity linked where the step needs one), sends the text as WeChat would — signed, as a
text message or as a voice message with `Recognition` — and reads what became of it: the draft in
Redis, the flows started (the Prometheus counters), the reply. Then it judges:

  understood   the expected meaning was taken
  re-asked     nothing was stored or started: the question (or a clarifying one) came again
  misread      something else was stored, started or answered — the worst outcome

`python -m tests.corpus` prints the rates per category; tests/test_corpus.py holds them to the bar.
"""

from __future__ import annotations

import itertools
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from bot.binding.guard import Guard
from bot.binding.models import VerificationAnswer, VerificationStart
from bot.conversations.identities import Identities
from bot.conversations.store import ConversationStore
from bot.simulator.wechat_side import WeChatSide
from flows import faq, texts
from flows.catalog import FLOWS
from flows.domain.identity import parse_id_number
from flows.engine import Ask, Conversation, Effect
from flows.texts import bind_member as bind_member_texts
from flows.texts import services as service_texts
from tests.support.binding import ROSTER

CORPUS = Path(__file__).parent
CODE = "123456"                 # the sandbox's SMS code in the replay's settings
# The replay verifies the same few people thousands of times: it measures understanding, not the
# verification limits (tests/test_verification_limits.py does).
NO_LIMITS = {"people_per_day": 10**6, "codes_per_openid_hour": 10**6, "codes_per_person_hour": 10**6,
             "wrong_guesses_per_hour": 10**6}
USER = ROSTER["王建国"]          # the verified user of every step that needs one
WIFE = ROSTER["李秀英"]
_openids = itertools.count(1)


@dataclass(frozen=True)
class Case:
    step: str
    category: str
    text: str
    expect: str
    voice: bool = False
    source: str = ""

    @property
    def meaning(self) -> str:
        return self.expect.split()[0]

    @property
    def slots(self) -> dict[str, str]:
        return dict(part.split("=", 1) for part in self.expect.split()[1:])


def load_cases(directory: Path = CORPUS) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.toml")):
        for raw in tomllib.loads(path.read_text("utf-8"))["case"]:
            cases.append(Case(raw["step"], raw["category"], raw["text"], raw["expect"], raw.get("voice", False),
                              path.name))
    return cases


# -- where a case starts --------------------------------------------------------------------------
def _member_id(person, today: date) -> dict[str, Any]:
    number = parse_id_number(person.id_number, today)
    return {"value": number.value, "type": number.type.value, "birth_date": number.birth_date.isoformat(),
            "sex": number.sex, "age": number.age_on(today)}


_BIND_STEPS = ("relationship", "member_name", "member_id", "pledge", "summary")


def _bind(step: str, today: date, **extra) -> Conversation:
    """The binding flow at `step`, the steps before it answered (a spouse, 李秀英)."""
    answers = {"relationship": "spouse", "member_name": WIFE.name, "member_id": _member_id(WIFE, today),
               "pledge": True}
    history = _BIND_STEPS[:_BIND_STEPS.index(step)]
    data = {"idempotency_key": f"corpus{next(_openids)}", "shareable_balance": "3200.00",
            **{field_: answers[field_] for field_ in history}}
    return Conversation(flow="bind_member", version=FLOWS["bind_member"].version, step=step, data=data,
                        history=tuple(history), given=("idempotency_key",), **extra)


@dataclass
class Place:
    """The state a step starts from, and the fields its answers go to."""
    conversation: Conversation | None
    verified: bool
    fields: dict[str, str] = field(default_factory=dict)   # slot in the corpus -> data key


class Replay:
    def __init__(self, app, server, settings) -> None:
        self.app, self.server, self.settings = app, server, settings
        self.bot = app.extensions["wxbot"]
        self.side = WeChatSide(settings.wechat)
        secret = settings.conversation.secret_key
        self.store = ConversationStore(self.bot.redis, self.bot.keys, secret, ttl=3600)
        self.identities = Identities(self.bot.redis, self.bot.keys, secret)
        # Challenges are started as the bot starts them, so that its guard knows them.
        self.guard = Guard(self.bot.redis, self.bot.keys, settings.limits, self.identities.digest, self.bot.binding)
        self.today = date.today()
        # The bureau (the sandbox) knows the user as verified, as after a real verification.
        challenge = self.bot.binding.start_verification(
            VerificationStart(openid="o_corpus_setup", name=USER.name, id_number=USER.id_number))
        self.bot.binding.complete_verification(challenge.challenge_id,
                                               VerificationAnswer(openid="o_corpus_setup", code=CODE))

    # -- one case ---------------------------------------------------------------------------
    def run(self, case: Case) -> tuple[str, str]:
        """(verdict, what was observed)."""
        openid = f"o_corpus_{next(_openids)}"
        place = self._place(case.step, openid)
        if place.verified:
            person = {"person_id": USER.person_id, "masked_name": "王**", "masked_id_number": "3301**********0111"}
            self.identities.link(openid, person, USER.id_number, self.today)
        if place.conversation is not None:
            now = time.time()   # just asked: not a draft coming back after a break
            place.conversation = replace(place.conversation, started_at=now, updated_at=now)
            self.store.save(openid, place.conversation, self.store.load(openid)[1])
        starts = _starts()
        xml = (self.side.voice_xml(openid, case.text) if case.voice else self.side.text_xml(openid, case.text))
        response = self.side.post(self.server.url, self.side.deliver(xml, openid))
        reply = self.side.open_reply(response.text).get("Content", "") if response.status_code == 200 else ""
        after = Observed(self.store.load(openid)[0], reply, {f: n - starts.get(f, 0) for f, n in _starts().items()
                                                             if n - starts.get(f, 0)},
                         not place.verified and self.identities.get(openid) is not None, place)
        return judge(case, after), after.describe()

    def _place(self, step: str, openid: str) -> Place:
        if step == "idle":   # a service started from the sentence keeps what it said about the member
            return Place(None, True, {"name": "member_name", "id": "member_id", "relationship": "relationship"})
        if step.startswith("verify."):
            name = step.split(".", 1)[1]
            data: dict[str, Any] = {}
            history: tuple[str, ...] = ()
            if name in ("id_number", "code"):
                data, history = {"name": USER.name}, ("name",)
            if name == "code":
                started = self.guard.run(Effect("start_verification", {"name": USER.name, "id_number": USER.id_number}),
                                         openid, None)
                data.update(id_number=USER.id_number, challenge_id=started.value["challenge_id"])
                history += ("id_number",)
            conv = Conversation(flow="verify", version=FLOWS["verify"].version, step=name, data=data, history=history)
            return Place(conv, False, {"name": "name", "id": "id_number"})
        fields = {"name": "member_name", "id": "member_id", "relationship": "relationship"}
        if step == "confirm_cancel":
            return Place(_bind("member_name", self.today, confirming="cancel"), True, fields)
        if step == "unbind.confirm":
            member = {"binding_id": "B-corpus", "application_id": "A-corpus", "relationship": "spouse",
                      "masked_name": "李**", "masked_id_number": "3301**********0224", "status": "active",
                      "since": datetime.now().astimezone().isoformat()}
            conv = Conversation(flow="unbind", version=FLOWS["unbind"].version, step="confirm",
                                data={"members": [member], "chosen": 0}, history=())
            return Place(conv, True)
        return Place(_bind(step.split(".", 1)[1], self.today), True, fields)


def _starts() -> dict[str, float]:
    return {flow: REGISTRY.get_sample_value("wxbot_flow_starts_total", {"flow": flow}) or 0 for flow in FLOWS}


@dataclass
class Observed:
    conversation: Conversation
    reply: str
    started: dict[str, float]
    verified_now: bool
    place: Place

    @property
    def before(self) -> Conversation | None:
        return self.place.conversation

    def stored(self, slot: str) -> Any:
        """The answer stored for `slot`, or what the user said for it that waits for its step."""
        data, key = self.conversation.data, self.place.fields.get(slot, slot)
        value = data.get(key, self.conversation.prefill.get(key))
        return value.get("value") if isinstance(value, dict) else value

    def new_data(self) -> dict[str, Any]:
        before = self.before.data if self.before else {}
        return {k: v for k, v in self.conversation.data.items() if before.get(k) != v}

    def describe(self) -> str:
        conv = self.conversation
        parts = [f"flow={conv.flow}", f"step={conv.step}"]
        if conv.confirming:
            parts.append(f"confirming={conv.confirming}")
        if self.started:
            parts.append("started=" + ",".join(self.started))
        new = self.new_data()
        if new:
            parts.append("new=" + ",".join(sorted(new)))
        parts.append("reply=" + self.reply.replace("\n", " ")[:60])
        return " ".join(parts)


# -- judging ---------------------------------------------------------------------------------------
_STEP_OF = {"relationship": "relationship", "name": "member_name", "id": "member_id"}


def judge(case: Case, seen: Observed) -> str:
    if _understood(case, seen):
        return "understood"
    return "re-asked" if _nothing_happened(seen) else "misread"


def _nothing_happened(seen: Observed) -> bool:
    """Nothing stored, started or answered wrongly: the user is asked again (maybe a clarifying
    question) — or, at a yes/no question, the question stands."""
    before, conv = seen.before, seen.conversation
    if seen.started or seen.verified_now:
        return False
    if before is None:
        return not conv.active and not any(entry.answer in seen.reply for entry in faq.ENTRIES)
    return (conv.flow == before.flow and conv.step == before.step and not seen.new_data()
            and conv.confirming in (None, "clarify", before.confirming))


def _understood(case: Case, seen: Observed) -> bool:
    meaning, slots, conv, reply = case.meaning, case.slots, seen.conversation, seen.reply
    kind, _, arg = meaning.partition(":")
    if "=" in kind:                       # name=…, id=…, relationship=…, code=…
        slot, value = kind.split("=", 1)
        slots = {slot: value, **slots}
        kind = "answer"
    if kind == "start":
        if arg not in seen.started:
            return False
        return all(seen.stored(slot) == value for slot, value in slots.items()) if slots else True
    if kind == "answer":
        if "code" in slots:
            return seen.verified_now
        return all(seen.stored(slot) == value for slot, value in slots.items())
    if kind in ("yes", "no"):
        return _yes_no(case.step, kind == "yes", seen)
    if kind == "edit":
        if not arg:
            return conv.step == "summary" and texts.WHICH_ITEM in reply
        if slots:   # 把名字改成李秀瑛: the new value, said with the edit, is taken at once
            return all(seen.stored(slot) == value for slot, value in slots.items())
        steps = [s for s in FLOWS["bind_member"].steps.values() if isinstance(s, Ask) and s.label
                 and s.field in (seen.before.data if seen.before else {})]
        return conv.editing and conv.step == steps[int(arg) - 1].id
    if kind == "faq":
        return faq.by_id(arg).answer in reply
    if kind == "ask":
        return conv.confirming == "clarify" and not seen.new_data()
    if kind == "refuse":
        return ("不在范围内" in reply or "不能绑定" in reply) and "relationship" not in seen.new_data()
    if kind == "reask":
        return _nothing_happened(seen) and conv.confirming != "clarify"
    return _move(kind, case.step, seen)


def _yes_no(step: str, yes: bool, seen: Observed) -> bool:
    conv, reply = seen.conversation, seen.reply
    if step == "bind.pledge":
        return conv.step == "summary" if yes else bind_member_texts.PLEDGE_DECLINED in reply
    if step == "confirm_cancel":
        return (not conv.active and texts.CANCELLED.format(title="绑定家人") in reply) if yes else \
            (conv.step == "member_name" and conv.confirming is None and texts.CARRY_ON in reply)
    if step == "unbind.confirm":
        kept = service_texts.KEPT.split("{")[0]
        return (not conv.active and kept not in reply) if yes else kept in reply
    if step == "bind.summary":   # yes: submitted; no: not submitted, and asked what to change
        submitted = conv.step != "summary" and not conv.editing and bind_member_texts.BAD_SUMMARY not in reply
        return submitted if yes else (not submitted and (conv.editing or texts.WHICH_ITEM in reply))
    return False


HUMAN = faq.by_id("hotline").answer


def _move(move: str, step: str, seen: Observed) -> bool:
    conv, reply, before = seen.conversation, seen.reply, seen.before
    if move == "human":
        return HUMAN in reply and (before is None or (conv.step == before.step and not seen.new_data()))
    if step == "idle":
        return reply.startswith(texts.IDLE_MOVES[move].split("\n")[0]) if move in texts.IDLE_MOVES else False
    if before.confirming:   # small talk at a yes/no confirmation: answered, the question asked again
        return conv.confirming == before.confirming and texts.CONFIRM_CANCEL.format(title="绑定家人") in reply \
            and (move == "help" or texts.STEP_MOVES.get(move, "\0") in reply)
    if move == "help":
        helped = before and FLOWS[before.flow].step(before.step)
        return bool(helped) and ((helped.help or texts.GENERIC_HELP) in reply) and conv.step == before.step
    if move in texts.STEP_MOVES:
        return texts.STEP_MOVES[move] in reply and conv.step == before.step and not seen.new_data()
    if move == "back":
        return bool(before.history) and conv.step == before.history[-1] or texts.NO_STEP_BACK in reply
    if move in ("cancel", "restart"):
        return conv.confirming == move
    return False


# -- a whole run -----------------------------------------------------------------------------------
@dataclass
class Tally:
    verdicts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[tuple[Case, str, str]] = field(default_factory=list)

    def add(self, case: Case, verdict: str, seen: str) -> None:
        self.verdicts[case.category][verdict] += 1
        if verdict != "understood":
            self.misses.append((case, verdict, seen))

    def total(self) -> Counter:
        return sum(self.verdicts.values(), Counter())

    @property
    def rate(self) -> float:
        total = self.total()
        return total["understood"] / max(sum(total.values()), 1)

    def report(self) -> str:
        lines = [f"{'category':28} {'cases':>5} {'understood':>10} {'re-asked':>8} {'misread':>7}"]
        for category in sorted(self.verdicts):
            counts = self.verdicts[category]
            n = sum(counts.values())
            lines.append(f"{category:28} {n:5} {counts['understood'] / n:10.1%} {counts['re-asked']:8} "
                         f"{counts['misread']:7}")
        total = self.total()
        n = sum(total.values())
        lines.append(f"{'all':28} {n:5} {self.rate:10.1%} {total['re-asked']:8} {total['misread']:7}")
        return "\n".join(lines)


def replay_all(replay: Replay, cases: list[Case]) -> Tally:
    tally = Tally()
    for case in cases:
        verdict, seen = replay.run(case)
        tally.add(case, verdict, seen)
    return tally

