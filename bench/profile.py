"""python -m bench.profile [APP] [--messages N] [--cprofile FILE]: CPU per message, in one process
(werkzeug's test client, no HTTP server), and in the Redis server — the figures behind the
analysis in docs/benchmarks.md. APP: wxbot (default), echo or werobot. The benchmark's steps call
no bureau, so they run on the request thread anyway; with --cprofile, a step handed to a handler
thread would be run on the request thread too, so that one profile shows all of it."""

from __future__ import annotations

import argparse
import cProfile
import os
import tempfile
import time

import redis
from werkzeug.test import Client

from bench import apps, world
from bench.load import free_port, signature
from bot.store.server import RedisServer

USERS = 500


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("app", nargs="?", default="wxbot", choices=["wxbot", "echo", "werobot"])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--cprofile", metavar="FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, RedisServer(data, port=free_port()) as server:
        os.environ["BENCH_REDIS_URL"] = server.url
        if args.app == "wxbot":
            os.environ["BENCH_WXBOT_SETTINGS"] = world.settings_json(server.url)
            world.Seeder(world.settings_for(server.url, log={"level": "WARNING"})).users("o_p_", USERS)
        app = getattr(apps, args.app)()
        if args.cprofile and args.app == "wxbot":
            class OnThisThread:
                def submit(self, fn, *fn_args):
                    fn(*fn_args)
            app.extensions["wxbot"].processor._pool = OnThisThread()
        client, timestamp = Client(app), str(int(time.time()))

        def send(n: int) -> None:
            openid, text = f"o_p_{n % USERS}", "配偶" if (n // USERS) % 2 == 0 else "上一步"
            body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                    f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                    f"<Content><![CDATA[{text}]]></Content><MsgId>{n + 1}</MsgId></xml>")
            nonce = f"p{n}"
            response = client.post(f"/wechat?signature={signature(world.TOKEN, timestamp, nonce)}"
                                   f"&timestamp={timestamp}&nonce={nonce}&openid={openid}", data=body.encode())
            assert response.status_code == 200

        for n in range(2 * USERS):  # warm-up: every user once there and back
            send(n)
        redis_cpu = lambda: sum(redis.Redis.from_url(server.url).info("cpu")[k]  # noqa: E731 - a condition to wait for, named
                                for k in ("used_cpu_sys", "used_cpu_user"))
        profiler = cProfile.Profile() if args.cprofile else None
        cpu, redis_before, wall = time.process_time(), redis_cpu(), time.perf_counter()
        if profiler:
            profiler.enable()
        for n in range(2 * USERS, 2 * USERS + args.messages):
            send(n)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.cprofile)
        per = 1e6 / args.messages
        print(f"{args.app}: {(time.process_time() - cpu) * per:.0f} µs CPU per message in the process, "
              f"{(redis_cpu() - redis_before) * per:.0f} µs in Redis, {(time.perf_counter() - wall) * per:.0f} µs wall"
              + (" (profiled)" if profiler else ""))


if __name__ == "__main__":
    main()
