"""What understanding a message costs, alone: every text of tests/corpus read the way the engine
may read it (every part of the Reading, the service index, the policy Q&A — more than any one
step asks for), each with every per-message cache emptied first (a message never seen before),
and again warm; and each handled by the engine at its own step (what one message really costs:
the step reads what it needs). In-process, one thread; figures in µs per message."""

from __future__ import annotations

import statistics
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cases() -> list[dict]:
    found = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.toml")):
        found += tomllib.loads(path.read_text("utf-8"))["case"]
    return found


def texts() -> list[str]:
    return [case["text"] for case in cases()]


def _at(step: str):
    from datetime import date

    from bot.config import RegionSettings
    from flows.catalog import FLOWS
    from flows.context import Context, User
    from flows.engine import IDLE, Conversation
    ctx = Context(now=1_800_000_000.0, today=date(2027, 1, 15), region=RegionSettings(), fresh_id="k",
                  user=User(verified=True, birth_date=date(1962, 3, 15)))
    answered = {"relationship": "spouse", "member_name": "李秀英", "pledge": True,
                "member_id": {"value": "330106196408220224", "type": "resident_id", "birth_date": "1964-08-22",
                              "sex": "F", "age": 62}}
    flow, _, name = step.partition(".")
    if step == "idle":
        return IDLE, ctx
    if flow == "verify":
        data = {"name": "王建国", "id_number": "330106196203150111", "challenge_id": "C"}
        order = ["name", "id_number", "code"]
        data = {k: v for k, v in data.items() if k in order[:order.index(name)] or k == "challenge_id"}
        return Conversation(flow="verify", version=FLOWS["verify"].version, step=name, data=data), ctx
    if step == "unbind.confirm":
        member = {"binding_id": "B", "relationship": "spouse", "masked_name": "李**",
                  "masked_id_number": "3301**********0224", "status": "active", "since": "2026-01-01T00:00:00+00:00"}
        return Conversation(flow="unbind", version=FLOWS["unbind"].version, step="confirm",
                            data={"members": [member], "chosen": 0}), ctx
    step_id = "member_name" if step == "confirm_cancel" else name
    order = ["relationship", "member_name", "member_id", "pledge", "summary"]
    data = {"idempotency_key": "k", **{k: answered[k] for k in order[:order.index(step_id)]}}
    return Conversation(flow="bind_member", version=FLOWS["bind_member"].version, step=step_id, data=data,
                        confirming="cancel" if step == "confirm_cancel" else None), ctx


def _caches() -> list:
    from flows import faq
    from flows.catalog import ENGINE
    from flows.understanding import answers, kinship, moves, names, normalise, reading, similarity, typos
    found = [ENGINE.intents.find]
    for module in (answers, kinship, moves, names, normalise, reading, similarity, typos, faq):
        found += [f for f in vars(module).values() if callable(f) and hasattr(f, "cache_clear")]
    # The sound of each character is a dictionary look-up kept for the process, like the dictionary.
    return [f for f in found if f is not typos._syllable]


def _read_everything(text: str) -> None:
    from flows import faq
    from flows.catalog import ENGINE
    from flows.understanding import read
    r = read(text)
    (r.move, r.move_inside, r.number, r.id_numbers, r.number_runs, r.codes, r.consent_code, r.kin, r.kin_within,
     r.name, r.name_within, r.question, r.yes_no(), r.yes_no("summary"))
    ENGINE.intents.find(r.word)
    faq.match(text)


def _as_a_step_reads_it(caches: list, rounds: int) -> list[float]:
    """Each corpus text handled by the engine at its own step, every per-message cache emptied."""
    from flows.catalog import ENGINE
    from flows.engine import UserText
    timings = []
    for _ in range(rounds):
        for case in cases():
            conversation, ctx = _at(case["step"])
            for cache in caches:
                cache.cache_clear()
            started = time.perf_counter()
            ENGINE.handle(conversation, UserText(case["text"]), ctx)
            timings.append(time.perf_counter() - started)
    return timings


def measure(rounds: int = 3) -> dict:
    corpus = texts()
    _read_everything("预热")   # imports, dictionaries: once per process, not per message
    caches = _caches()
    cold, warm = [], []
    for _ in range(rounds):
        for text in corpus:
            for cache in caches:
                cache.cache_clear()
            started = time.perf_counter()
            _read_everything(text)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            _read_everything(text)
            warm.append(time.perf_counter() - started)

    def summary(samples: list[float]) -> dict:
        ordered = sorted(samples)
        return {"mean_us": statistics.fmean(samples) * 1e6, "p50_us": ordered[len(ordered) // 2] * 1e6,
                "p99_us": ordered[int(len(ordered) * 0.99)] * 1e6}

    return {"messages": len(corpus), "cold": summary(cold), "warm": summary(warm),
            "step": summary(_as_a_step_reads_it(caches, rounds))}


if __name__ == "__main__":
    print(measure())
