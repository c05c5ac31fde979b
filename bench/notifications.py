"""Notification throughput: decisions recorded at once → the decisions stream → `wxbot worker`
processes (their sender threads) → the fake WeChat API, until every template message is sent.

The fake WeChat API runs under gunicorn in a process of its own (one process: its record of what
was sent lives in memory; threads for the workers' connections), as tests/support/stack.py runs it:
served from a thread of this process, it was the bottleneck once the workers stopped forking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench import world
from bench.load import ROOT
from bot.app import create_app
from bot.binding.models import ApplicationRequest, Decision
from flows.domain.relationships import Relationship
from tests.support.processes import Gunicorn, settings_env

TEMPLATE_SEND = "/cgi-bin/message/template/send"


def measure(redis_url: str, log: Path, count: int) -> dict[str, float]:
    fake = Gunicorn(f"bot.simulator.fake_wechat:create_fake_wechat({world.APPID!r}, {world.SECRET!r})", {},
                    workers=1, threads=64, health="/fake/stats").start()
    try:
        settings = world.settings_for(redis_url, wechat={"api_base_url": fake.url})
        bot = create_app(settings).extensions["wxbot"]
        application_id = _an_application(bot.binding, world.Seeder(settings).initiator_id())
        result = {"count": count}
        for workers in (1, 2):
            result[f"per_second_{workers}_workers"] = _timed(bot, fake.url, settings, application_id, count,
                                                             workers, log)
            print(f"  {workers} worker(s): {result[f'per_second_{workers}_workers']:.0f} notifications/s", flush=True)
        return result
    finally:
        fake.stop()


def _an_application(sandbox, initiator: str) -> str:
    """One real application, so each send reads real details from the binding service."""
    return sandbox.submit_application(ApplicationRequest(
        initiator_id=initiator, member_name="李秀英", member_id_number="330106196408220224",
        relationship=Relationship.SPOUSE, pledge_accepted=True, idempotency_key=uuid.uuid4().hex)).application_id


def _sent(fake_url: str) -> int:
    return requests.get(f"{fake_url}/fake/stats", timeout=5).json()["calls"].get(TEMPLATE_SEND, 0)


def _timed(bot, fake_url: str, settings, application_id: str, count: int, workers: int, log: Path) -> float:
    env = {**os.environ, **settings_env(settings)}
    with open(log, "ab") as out:
        processes = [subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env,
                                      stdout=out, stderr=out, start_new_session=True) for _ in range(workers)]
    try:
        time.sleep(3)  # the workers are up and waiting on the stream before the clock starts
        already = _sent(fake_url)
        run = uuid.uuid4().hex[:8]
        started = time.monotonic()
        for n in range(count):
            bot.decisions.record(Decision(
                event_id=f"bench-{run}-{n}", kind="application.decided", application_id=application_id,
                binding_id=f"bench-{run}-{n}", status="approved", decided_at=datetime.now(UTC)),
                openid=f"o_notify_{n}")
        deadline = started + 300
        while _sent(fake_url) - already < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {_sent(fake_url) - already} of {count} notifications sent in 300 s")
            time.sleep(0.05)
        return count / (time.monotonic() - started)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(30)
