"""python -m bench [--quick] [--before REV] [--output FILE]: every measurement in one run, then the
report (docs/benchmarks.md's generated section) and var/bench/results.json."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench import machine, memory, notifications, report, round_trips, understanding, webhook, world
from bench.load import Source, free_port, products
from bot.store.server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
PARTS = ["webhook", "round_trips", "memory", "notifications", "understanding"]
BEFORE = "28e0e58"  # the last commit before issue 15's lean hot path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="short runs, to try the harness (no report)")
    parser.add_argument("--before", default=BEFORE, help="also measure the product at this revision ('' : don't)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--only", choices=PARTS, action="append")
    args = parser.parse_args()
    only = set(args.only or PARTS)
    connections, seconds = ([1, 16], 3.0) if args.quick else ([1, 4, 16, 64], 10.0)
    results: dict = {"machine": machine.describe(), "quick": args.quick, "before": args.before or None}
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    before = Source(args.before) if args.before else None
    try:
        with tempfile.TemporaryDirectory() as data, RedisServer(data, port=free_port()) as redis_server:
            url = redis_server.url
            if "webhook" in only:
                print("webhook: throughput and latency, side by side", flush=True)
                apps = [*products(before), *((peer, Source()) for peer in webhook.PEERS)]
                results["webhook"] = [webhook.measure(app, url, work / f"{app}.log", connections, seconds, source)
                                      for app, source in apps]
            if "round_trips" in only:
                print("round trips per message", flush=True)
                results["round_trips"] = round_trips.measure(url, work / "round_trips.log", before)
            if "memory" in only:
                print("memory per idle conversation", flush=True)
                seeder = world.Seeder(world.settings_for(url, log={"level": "WARNING"}))
                results["memory"] = memory.measure(url, seeder, 10_000 if args.quick else 100_000)
            if "understanding" in only:
                print("understanding a message, alone", flush=True)
                results["understanding"] = understanding.measure()
            if "notifications" in only:
                print("notification throughput", flush=True)
                results["notifications"] = notifications.measure(url, work / "worker.log", 200 if args.quick else 1000)
    finally:
        if before:
            before.remove()
    (work / "results.json").write_text(json.dumps(report.jsonable(results), indent=2, ensure_ascii=False))
    if not args.quick and only == set(PARTS):
        Path(args.output).write_text(report.markdown(results, Path(args.output)))
        print(f"report: {args.output}")
    print(report.summary(results))


if __name__ == "__main__":
    main()
