"""The results as docs/benchmarks.md's generated section, as JSON, and as a short summary."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

BEGIN, END = "<!-- bench:begin (written by `make bench`) -->", "<!-- bench:end -->"
TARGETS = {"echo": 0.8, "werobot": 1.5}
P99_AT_HALF_MS, ROUND_TRIPS, BYTES_PER_CONVERSATION = 50.0, 2, 1024
BEFORE_SHARE = 0.9          # the product keeps at least this share of its throughput at the `before` revision
UNDERSTANDING_US = 300.0    # reading a message never seen before, every part of it
NOTIFICATIONS_PER_S = 500.0  # template messages a second from two `wxbot worker` processes (issue 16)


def jsonable(value):
    if dataclasses.is_dataclass(value):
        return {**{k: jsonable(v) for k, v in dataclasses.asdict(value).items()},
                **({"rps": value.rps} if hasattr(value, "rps") else {})}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def checks(results: dict) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for every target the results cover."""
    rows = []
    if "webhook" in results:
        by_app = {result.app: result for result in results["webhook"]}
        ours = by_app["wxbot"]
        for peer, factor in TARGETS.items():
            ratio = ours.saturation.rps / by_app[peer].saturation.rps
            rows.append((f"throughput ≥ {factor}× {peer}", f"{ratio:.2f}× ({ours.saturation.rps:.0f} vs "
                         f"{by_app[peer].saturation.rps:.0f} req/s)", _verdict(ratio >= factor)))
        for app, result in by_app.items():
            if app.startswith("wxbot@"):
                share = ours.saturation.rps / result.saturation.rps
                rows.append((f"throughput ≥ {BEFORE_SHARE}× {app} (before)", f"{share:.2f}× ({ours.saturation.rps:.0f} vs "
                             f"{result.saturation.rps:.0f} req/s)", _verdict(share >= BEFORE_SHARE)))
        paced = ours.paced
        rows.append((f"p99 < {P99_AT_HALF_MS:.0f} ms at half of saturation",
                     f"{paced.p99_ms:.1f} ms at {paced.rps:.0f} req/s ({paced.rps / ours.saturation.rps:.0%} of saturation)",
                     _verdict(paced.p99_ms < P99_AT_HALF_MS)))
    if "round_trips" in results:
        trips = results["round_trips"]["wxbot"]
        rows.append((f"≤ {ROUND_TRIPS} Redis round trips per message", f"{trips:.2f}", _verdict(trips <= ROUND_TRIPS)))
    if "understanding" in results:
        cold = results["understanding"]["cold"]
        step = results["understanding"].get("step", cold)
        rows.append((f"understanding a new message < {UNDERSTANDING_US / 1000:.1f} ms",
                     f"{step['mean_us'] / 1000:.3f} ms mean at its step ({cold['mean_us'] / 1000:.3f} ms reading "
                     f"every part)", _verdict(step["mean_us"] < UNDERSTANDING_US)))
    if "notifications" in results:
        rate = results["notifications"]["per_second_2_workers"]
        rows.append((f"≥ {NOTIFICATIONS_PER_S:.0f} notifications/s from 2 workers", f"{rate:.0f}/s",
                     _verdict(rate >= NOTIFICATIONS_PER_S)))
    if "memory" in results:
        size = results["memory"]["bytes_per_conversation"]
        rows.append((f"≤ {BYTES_PER_CONVERSATION} bytes of Redis per idle conversation",
                     f"{size:.0f} bytes ({results['memory']['count']:,} conversations)",
                     _verdict(size <= BYTES_PER_CONVERSATION)))
    return rows


def generated(results: dict) -> str:
    lines = [BEGIN, "", "### Machine", ""]
    lines += [f"- {key}: {value}" for key, value in results["machine"].items()]
    lines += ["", "### Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in checks(results)]
    if "webhook" in results:
        by_app = {result.app: result for result in results["webhook"]}
        lines += ["", "### Webhook: throughput and latency by concurrency", "",
                  "| connections | app | req/s | vs echo | vs WeRoBot | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for index in range(len(by_app["wxbot"].runs)):
            for app, result in by_app.items():
                row = result.runs[index]
                echo, werobot = by_app["echo"].runs[index].rps, by_app["werobot"].runs[index].rps
                lines.append(f"| {row.connections} | {app} | {row.rps:.0f} | {row.rps / echo:.2f}× | "
                             f"{row.rps / werobot:.2f}× | {row.p50_ms:.1f} | {row.p90_ms:.1f} | {row.p99_ms:.1f} | "
                             f"{row.p999_ms:.1f} | {row.status_errors + row.socket_errors} |")
        lines += ["", f"### Webhook: latency at half of each app's saturation ({by_app['wxbot'].paced.connections} "
                  "paced connections)", "", "| app | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms |",
                  "|---|---|---|---|---|---|---|"]
        for app, result in by_app.items():
            lines.append(f"| {app} | {result.saturation.rps / 2:.0f} | {result.paced.rps:.0f} | {result.paced.p50_ms:.1f} | "
                         f"{result.paced.p90_ms:.1f} | {result.paced.p99_ms:.1f} | {result.paced.p999_ms:.1f} |")
    if "round_trips" in results:
        trips = results["round_trips"]
        lines += ["", "### Redis round trips per message", "",
                  f"- wxbot: {trips['wxbot']:.2f} (admission with the lock and the user's records; reply record "
                  "with the draft and the release)"]
        lines += [f"- {app}: {value:.2f}" for app, value in trips.items() if app.startswith("wxbot@")]
        lines += [f"- WeRoBot: {trips['werobot']:.2f} (session read and write; no dedupe, no lock)"]
    if "memory" in results:
        memory = results["memory"]
        lines += ["", "### Redis memory per idle conversation", "",
                  f"- {memory['count']:,} drafts stopped at `{memory['step']}` (relationship, name, ID number given): "
                  f"{memory['bytes_per_conversation']:.0f} bytes each (used_memory delta); "
                  f"`MEMORY USAGE` of one: {memory['memory_usage_sample']} bytes; its encrypted state: "
                  f"{memory['state_bytes']} bytes",
                  f"- the verified identity a user keeps for a year: {memory['bytes_per_identity']:.0f} bytes more"]
    if "understanding" in results:
        read = results["understanding"]
        lines += ["", "### Understanding a message (flows/understanding), in-process", "",
                  f"- every part of the reading, the service index and the policy Q&A, for each of the "
                  f"{read['messages']} corpus texts:",
                  f"  - never seen before (every per-message cache emptied): mean {read['cold']['mean_us']:.0f} µs, "
                  f"p50 {read['cold']['p50_us']:.0f} µs, p99 {read['cold']['p99_us']:.0f} µs",
                  f"  - seen before (cached): mean {read['warm']['mean_us']:.0f} µs, p50 {read['warm']['p50_us']:.0f} µs",
                  *([f"- each handled by the engine at its own step, never seen before: mean "
                     f"{read['step']['mean_us']:.0f} µs, p50 {read['step']['p50_us']:.0f} µs, "
                     f"p99 {read['step']['p99_us']:.0f} µs"] if "step" in read else [])]
    if "notifications" in results:
        notify = results["notifications"]
        lines += ["", "### Notifications from the decisions stream to the fake WeChat API", "",
                  f"- {notify['count']} decisions recorded at once, until every template message was sent:",
                  f"  {notify['per_second_1_workers']:.0f}/s with one `wxbot worker`, "
                  f"{notify['per_second_2_workers']:.0f}/s with two"]
    lines += ["", END]
    return "\n".join(lines)


def markdown(results: dict, path: Path | None = None) -> str:
    """The report file with its generated section replaced (the written parts are kept)."""
    text = path.read_text() if path and path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    return re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: generated(results), text, flags=re.S)


def summary(results: dict) -> str:
    return "\n".join(f"{verdict:>10}  {target}: {measured}" for target, measured, verdict in checks(results))
