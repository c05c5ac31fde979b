"""`python -m tests.corpus [--misses] [DIR]`: replay the corpus (tests/corpus, or the *.toml cases
in DIR) through the real /wechat endpoint (an embedded Redis, the sandbox bureau) and print the
understood rate per category, misreadings counted apart from re-asks."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bot.app import create_app
from bot.background import BackgroundServer
from bot.config import load_settings
from bot.store.server import RedisServer
from tests.corpus.replay import CODE, NO_LIMITS, Replay, load_cases, replay_all


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        redis_server = RedisServer(Path(scratch), appendonly=False).start()
        try:
            settings = load_settings(None, wechat={"appid": "wxcorpus0000000000", "token": "corpustoken"},
                                     conversation={"secret_key": "Y29ycHVzLWNvcnB1cy1jb3JwdXMtY29ycHVzLWtleSE="},
                                     redis={"url": redis_server.url}, log={"format": "console", "level": "WARNING"},
                                     binding={"sandbox": {"verification_code": CODE}}, limits=NO_LIMITS)
            app = create_app(settings)
            server = BackgroundServer(app).start()
            try:
                folders = [Path(arg) for arg in argv if not arg.startswith("--")]
                tally = replay_all(Replay(app, server, settings), load_cases(*folders))
            finally:
                server.stop()
        finally:
            redis_server.cleanup()
    print(tally.report())
    if "--misses" in argv:
        for case, verdict, seen in tally.misses:
            print(f"{verdict:9} [{case.step}] {case.text!r} expected {case.expect} — {seen}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
