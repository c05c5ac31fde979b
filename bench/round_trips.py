"""Redis round trips per message, counted at the Redis server (MONITOR) while messages go
through the served apps one at a time."""

from __future__ import annotations

from pathlib import Path

import redis

from bench import world
from bench.load import Served, Source, products, signed_text
from tests.support.redis_monitor import commands_sent, round_trips

USERS = 50  # two messages each: the relationship chosen, then taken back


def measure(redis_url: str, log: Path, before: Source | None = None) -> dict[str, float]:
    client = redis.Redis.from_url(redis_url)
    env = {"BENCH_TOKEN": world.TOKEN, "BENCH_REDIS_URL": redis_url,
           "BENCH_WXBOT_SETTINGS": world.settings_json(redis_url)}
    result = {}
    for app, source in [*products(before), ("werobot", Source())]:
        prefix = f"o_rt_{app.replace('@', '_')}_"
        if app.startswith("wxbot"):
            source.seed(redis_url, prefix, USERS)
        with Served(app, env, log, source) as served:
            signed_text(served.url, world.TOKEN, "o_rt_warm", "你好", 1)  # scripts loaded, pools open
            # Only what belongs to these messages: their users' keys, their deliveries and nonces
            # (the serving processes' background duties use other keys).
            with commands_sent(client) as commands:
                for n in range(USERS):
                    for step, text in enumerate(("配偶", "上一步")):
                        response = signed_text(served.url, world.TOKEN, f"{prefix}{n}", text, 10 * n + step + 2)
                        assert response.status_code == 200 and "<xml>" in response.text
            ours = [c for c in commands if prefix in c or ":nonce:" in c or ":delivery:" in c
                    or c.upper() in ("MULTI", "EXEC")]  # an earlier revision's transactions
            result[app] = round_trips(ours) / (2 * USERS)
        print(f"  {app:16} {result[app]:.2f} round trips per message", flush=True)
    return result
