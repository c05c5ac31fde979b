"""Serving an app under gunicorn and loading it with wrk."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("webhook.lua")
# The same for every app: two processes (one per core here), eight threads each, no access log.
GUNICORN = ["--workers", "2", "--threads", "8", "--worker-class", "gthread", "--log-level", "warning",
            "--timeout", "60", "--no-control-socket"]
EXPECTED_MAX_RPS = 8000  # sizes the signature file; a run that outlasts it is reported


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's


def signed_text(url: str, token: str, openid: str, text: str, msg_id: int) -> requests.Response:
    """One message as WeChat delivers it (for probes and the round-trip count)."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    return requests.post(f"{url}/wechat", params={"signature": signature(token, timestamp, nonce),
                                                  "timestamp": timestamp, "nonce": nonce, "openid": openid},
                         data=body.encode(), headers={"Content-Type": "text/xml"}, timeout=10)


class Source:
    """The code an app is served from: this tree, or an earlier revision checked out beside it
    (with this tree's bench/ copied in), for before/after figures from one run."""

    def __init__(self, revision: str | None = None) -> None:
        self.revision = revision
        self.root = ROOT
        if revision:
            self.root = ROOT / "var" / "bench" / f"tree-{revision}"
            if not self.root.exists():
                subprocess.run(["git", "worktree", "add", "--detach", "--force", str(self.root), revision],
                               cwd=ROOT, check=True, capture_output=True)
            shutil.copytree(ROOT / "bench", self.root / "bench", dirs_exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root)}

    def seed(self, redis_url: str, prefix: str, count: int) -> None:
        subprocess.run([sys.executable, "-m", "bench.seed", redis_url, prefix, str(count)], cwd=self.root,
                       env=self.env, check=True, capture_output=True)

    def remove(self) -> None:
        if self.revision:
            subprocess.run(["git", "worktree", "remove", "--force", str(self.root)], cwd=ROOT, check=False,
                           capture_output=True)


def products(before: Source | None) -> list[tuple[str, Source]]:
    """The product as it is, and as it was at `before` (named wxbot@<revision>) when given."""
    return [("wxbot", Source()), *([(f"wxbot@{before.revision}", before)] if before else [])]


class Served:
    """`bench.apps:<name>()` under gunicorn with the shared settings."""

    def __init__(self, name: str, env: dict[str, str], log: Path, source: Source | None = None) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.source = source or Source()
        self._env, self._log = {**self.source.env, **env}, log
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Served:
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{self.port}",
                 f"bench.apps:{self.name.split('@')[0]}()"], cwd=self.source.root, env=self._env, stdout=log, stderr=log,
                start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited, see {self._log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name}: not listening after 30 s")

    def __exit__(self, *exc: object) -> None:
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()


@dataclass
class Run:
    app: str
    connections: int
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    paced_delay_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(served: Served, token: str, connections: int, seconds: float, users: int, prefix: str,
        delay_ms: float = 0.0) -> Run:
    """One wrk run of fresh, signed messages from `users` users."""
    count = int(seconds * EXPECTED_MAX_RPS) + 1000
    timestamp, run = str(int(time.time())), uuid.uuid4().hex[:8]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as data:
        for n in range(count):
            nonce = f"{run}{n}"
            data.write(f"{timestamp} {nonce} {signature(token, timestamp, nonce)}\n")
    threads = 1  # one wrk thread keeps up with these servers and leaves the cores to them
    base = int(time.time() * 1000) % 10**9 * 10**6  # MsgIds never repeat between runs
    env = {**os.environ, "BENCH_DATA": data.name, "BENCH_DELAY_MS": str(int(delay_ms))}
    try:
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{round(seconds)}s",
                              "--timeout", "10s", "-s", str(SCRIPT), f"{served.url}/wechat", "--",
                              str(threads), str(users), prefix, str(base)],
                             env=env, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(data.name)
    summary = json.loads(next(line for line in out.splitlines() if line.startswith("BENCH "))[6:])
    if summary["requests"] > count:
        raise RuntimeError(f"{served.name}: {summary['requests']} requests outran {count} signatures")
    return Run(served.name, connections, summary["requests"], summary["duration_us"] / 1e6,
               summary["status_errors"], summary["socket_errors"],
               *(summary[key] / 1000 for key in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")),
               paced_delay_ms=delay_ms)
