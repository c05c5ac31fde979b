"""JSON log lines stay whole when several processes share one stream (gunicorn's workers all
write to the same stderr)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOGGING = """
import sys, threading
from bot.config import LogSettings
from bot.logs import configure, log
configure(LogSettings(format="json"), salt="")
def burst():
    for i in range(400):
        log.info("processed", user_ref="abcdef012345", duration_ms=i)
threads = [threading.Thread(target=burst) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_lines_from_processes_sharing_stderr_do_not_interleave(tmp_path) -> None:
    with open(tmp_path / "shared.log", "ab") as shared:
        processes = [subprocess.Popen([sys.executable, "-c", LOGGING], cwd=ROOT, stderr=shared) for _ in range(3)]
        for process in processes:
            assert process.wait(60) == 0
    lines = (tmp_path / "shared.log").read_text().splitlines()
    assert len(lines) == 3 * 4 * 400
    assert all(json.loads(line)["event"] == "processed" for line in lines)
