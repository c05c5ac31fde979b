"""Real server processes for the tests: gunicorn with several workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Gunicorn:
    def __init__(self, app_spec: str, env: dict[str, str], workers: int = 2, threads: int = 8,
                 health: str = "/healthz") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.health = health
        self._args = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                      "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                      "--no-control-socket", "--log-level", "warning", app_spec]
        self._env = {**os.environ, **env}
        self._process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        self._process = subprocess.Popen(self._args, cwd=ROOT, env=self._env, start_new_session=True)
        wait_for(self._healthy, timeout=20)
        return self

    def _healthy(self) -> bool:
        if self._process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self._process.returncode}")
        try:
            return requests.get(f"{self.url}{self.health}", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def settings_env(settings) -> dict[str, str]:
    """The environment that reproduces `settings` in a child process."""
    env: dict[str, str] = {}

    def flatten(prefix: str, values: dict) -> None:
        for key, value in values.items():
            name = f"{prefix}__{key.upper()}"
            if isinstance(value, dict):
                flatten(name, value)
            elif value is not None:
                env[name] = json.dumps(value) if isinstance(value, list) else str(value)

    flatten("WXBOT", settings.model_dump(mode="json"))
    return {name.replace("WXBOT__", "WXBOT_", 1): value for name, value in env.items()}


WXBOT = [sys.executable, "-m", "bot.cli"]
# config.example.toml's demo values run only here: production (the default) refuses them.
DEVELOPMENT = {"WXBOT_SERVER__ENVIRONMENT": "development"}


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).json()["redis"] == "ok"
    except (requests.RequestException, ValueError):
        return False


class Commands:
    """`wxbot` commands started in the background, each in its own process group; `stop()` ends
    them and everything they started."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str, env: dict[str, str], output: Path | None = None) -> subprocess.Popen:
        """`output`: a file for stdout and stderr, for a long-running command whose pipe nobody
        reads (a full pipe would block it)."""
        out = open(output, "a") if output else subprocess.PIPE  # noqa: SIM115 - the child holds it
        process = subprocess.Popen([*WXBOT, *args], cwd=ROOT, env={**os.environ, **env},
                                   stdout=out, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        if output:
            out.close()
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    # Stuck (gunicorn waiting on a hung handler): it must not outlive the test,
                    # nor keep the next commands from being stopped.
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
