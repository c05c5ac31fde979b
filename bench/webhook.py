"""The webhook, side by side: the product, a bare Flask + wechatpy echo, WeRoBot + its Redis
session — the same gunicorn settings, the same Redis, the same load, one after the other.
With a revision, the product as it was then is measured in the same run (before/after)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import world
from bench.load import Run, Served, Source, signed_text, wrk

PEERS = ("echo", "werobot")
USERS = 1000  # per run; a user's messages are 1000 requests apart, so never concurrent
PACED_CONNECTIONS = 16


@dataclass
class AppResult:
    app: str
    runs: list[Run] = field(default_factory=list)
    paced: Run | None = None

    @property
    def saturation(self) -> Run:
        return max(self.runs, key=lambda run: run.rps)


def probe(app: str, served: Served, redis_url: str) -> None:
    """Each app must answer a message correctly before it is timed."""
    ours = app.startswith("wxbot")
    if ours:
        served.source.seed(redis_url, "o_probe", 1)
    reply = signed_text(served.url, world.TOKEN, "o_probe0", "配偶", 1).text
    if ("姓名" if ours else "配偶") not in reply:
        raise RuntimeError(f"{app} answered {reply!r}")


def measure(app: str, redis_url: str, log: Path, connections: list[int], seconds: float,
            source: Source | None = None) -> AppResult:
    env = {"BENCH_TOKEN": world.TOKEN, "BENCH_REDIS_URL": redis_url,
           "BENCH_WXBOT_SETTINGS": world.settings_json(redis_url)}
    result = AppResult(app)
    with Served(app, env, log, source) as served:
        probe(app, served, redis_url)
        run_id = 0

        def load(count: int, duration: float, delay_ms: float = 0.0) -> Run:
            nonlocal run_id
            run_id += 1
            prefix = f"o_{app.replace('@', '_')}_{run_id}_"
            if app.startswith("wxbot"):
                served.source.seed(redis_url, prefix, USERS)
            run = wrk(served, world.TOKEN, count, duration, USERS, prefix, delay_ms)
            run.app = app
            return run

        load(8, 2)  # warm-up: imports, scripts loaded, connections opened; not reported
        for count in connections:
            result.runs.append(load(count, seconds))
            print(f"  {app:16} c={count:<3} {result.runs[-1].rps:7.0f} req/s  p99 {result.runs[-1].p99_ms:6.1f} ms",
                  flush=True)
        # Half of saturation: each connection paces itself; the pause leaves room for the latency
        # seen at low load, so that the achieved rate lands near the target (it is reported).
        target = result.saturation.rps / 2
        typical = min(result.runs, key=lambda run: run.connections).p50_ms
        pause = max(0.0, PACED_CONNECTIONS / target * 1000 - typical)
        result.paced = load(PACED_CONNECTIONS, seconds, delay_ms=pause)
        print(f"  {app:16} paced  {result.paced.rps:7.0f} req/s  p99 {result.paced.p99_ms:6.1f} ms", flush=True)
    return result
