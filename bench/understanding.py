"""What understanding a message costs, alone: every text of tests/corpus read the way the engine
may read it (every part of the Reading, the service index, the policy Q&A — more than any one
step asks for), each with every per-message cache emptied first (a message never seen before),
and again warm. In-process, one thread; figures in µs per message."""

from __future__ import annotations

import statistics
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def texts() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.toml")):
        found += [case["text"] for case in tomllib.loads(path.read_text("utf-8"))["case"]]
    return found


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

    return {"messages": len(corpus), "cold": summary(cold), "warm": summary(warm)}


if __name__ == "__main__":
    print(measure())
