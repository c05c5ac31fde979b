"""The corpus (tests/corpus/*.toml: real-world inputs, each with the meaning a careful clerk would
take) replayed through the real /wechat endpoint, real Redis and the sandbox bureau."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from tests.corpus.replay import CODE, NO_LIMITS, Replay, load_cases, replay_all

CASES = load_cases()
BAR = 0.98          # understood, of all cases
MISREAD_BAR = 0.015  # something else stored, started or answered: far worse than asking again


@pytest.fixture(scope="module")
def tally(make_settings, redis_server):
    import redis
    redis.Redis.from_url(redis_server.url).flushall()
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}}, limits=NO_LIMITS)
    app = create_app(settings)
    server = BackgroundServer(app).start()
    try:
        yield replay_all(Replay(app, server, settings), CASES)
    finally:
        server.stop()


def test_the_corpus_is_big_and_covers_every_step() -> None:
    assert len(CASES) >= 400
    steps = Counter(case.step for case in CASES)
    assert set(steps) >= {"idle", "verify.name", "verify.id_number", "verify.code", "bind.relationship",
                          "bind.member_name", "bind.member_id", "bind.pledge", "bind.summary", "confirm_cancel",
                          "unbind.confirm"}
    assert sum(case.voice for case in CASES) >= 50


def test_the_corpus_is_understood(tally) -> None:
    misses = "\n".join(f"{verdict:9} [{case.step}] {case.text!r} expected {case.expect} — {seen}"
                       for case, verdict, seen in tally.misses)
    print(tally.report())
    assert tally.rate >= BAR, f"{tally.rate:.1%} understood:\n{misses}"
    assert tally.total()["misread"] <= MISREAD_BAR * len(CASES), misses


def test_no_name_step_ever_stores_a_non_name(tally) -> None:
    wrong = [(case.text, seen) for case, verdict, seen in tally.misses
             if case.category == "name/non-name" or (case.step.endswith("name") and case.expect in ("reask", "ask")
                                                      and verdict == "misread")]
    assert not wrong
