"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import date
from importlib.metadata import version
from pathlib import Path

from bot.store.server import find_redis_server


def describe() -> dict[str, str]:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
               platform.processor())
    redis_version = subprocess.run([find_redis_server(), "--version"], capture_output=True, text=True).stdout.split()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "date": date.today().isoformat(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "redis": next((part for part in redis_version if part.startswith("v=")), "?")[2:],
        "wrk": wrk_version.split(" [")[0],
        "packages": ", ".join(f"{name} {version(name)}" for name in
                              ("gunicorn", "flask", "wechatpy", "werobot", "bottle", "redis")),
    }
