"""/metrics adds up every process under `wxbot serve` (gunicorn's workers), and counts what the
sender threads of `wxbot worker --metrics-bind` did — real processes, real Redis."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import requests

from bot.config import load_settings
from bot.simulator.wechat_side import WeChatSide
from tests.conftest import free_port, wait_for
from tests.support.processes import DEVELOPMENT, ROOT, healthy, settings_env
from tests.test_cli import child_pids, cmdline
from tests.test_metrics import parse, read
from tests.test_notifications import decided_application, sent, world  # noqa: F401 - a fixture

CONFIG = ROOT / "config.example.toml"


def scrape(url: str) -> dict:
    response = requests.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    return parse(response.text)


def replies(url: str) -> float:
    return read(scrape(url), "wxbot_webhook_requests_total", outcome="reply", status="200")


def gunicorn_workers(master: int) -> list[int]:
    return [pid for pid in child_pids(master) if "bot.cli" in cmdline(pid)]


def test_two_gunicorn_workers_add_up_and_the_dead_ones_still_count(running, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**DEVELOPMENT, "WXBOT_SERVER__BIND": f"127.0.0.1:{port}", "WXBOT_SERVER__WORKERS": "2", "TMPDIR": str(tmp_path),
           "WXBOT_REDIS__DATA_DIR": str(tmp_path / "redis"), "WXBOT_LOG__FORMAT": "json",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "stale")}  # inherited: replaced by a fresh one
    server = running("serve", "--config", str(CONFIG), env=env)
    wait_for(lambda: healthy(url), timeout=30)
    [directory] = tmp_path.glob("wxbot-metrics-*")
    assert not (tmp_path / "stale").exists()

    side = WeChatSide(load_settings(CONFIG).wechat)

    def say(openid: str) -> None:
        response = side.post(url, side.deliver(side.text_xml(openid, "你好"), openid))
        assert response.status_code == 200 and side.open_reply(response.text)["Content"]

    # Six users at once: the kernel spreads them over both workers as it likes; the sum is six
    # whichever worker answers the scrape.
    threads = [threading.Thread(target=say, args=(f"o_mp_{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [replies(url) for _ in range(4)] == [6, 6, 6, 6]

    # Replace both workers: the new ones answered nothing, yet the count stays — the files of the
    # dead workers still add up; only their in-progress gauge goes (gunicorn's child_exit hook).
    workers = gunicorn_workers(server.pid)
    assert len(workers) == 2
    for pid in workers:
        assert (directory / f"gauge_livesum_{pid}.db").exists()
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda pid=pid: pid not in child_pids(server.pid), timeout=15)
        wait_for(lambda pid=pid: not (directory / f"gauge_livesum_{pid}.db").exists(), timeout=15)
        assert (directory / f"counter_{pid}.db").exists()
    wait_for(lambda: len(gunicorn_workers(server.pid)) == 2 and healthy(url), timeout=30)
    assert set(gunicorn_workers(server.pid)).isdisjoint(workers)
    assert replies(url) == 6
    say("o_mp_after")
    assert [replies(url) for _ in range(4)] == [7, 7, 7, 7]

    os.killpg(server.pid, signal.SIGTERM)
    server.communicate(timeout=30)
    assert server.returncode == 0
    assert not directory.exists()  # the master removes its directory on the way out


def test_the_workers_metrics_count_what_its_sender_threads_did(world, running, tmp_path: Path) -> None:  # noqa: F811 - `world`, the imported fixture
    settings, app, fake_wechat = world
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # An inherited multiprocess directory (`wxbot run` starts its worker from gunicorn's process) is
    # not the worker's: it counts in its own registry.
    worker = running("worker", "--metrics-bind", f"127.0.0.1:{port}",
                     env={**settings_env(settings), "TMPDIR": str(tmp_path), "WXBOT_LOG__FORMAT": "console",
                          "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "inherited")})
    decided_application(app, openid="o_a", initiator="王建国")
    wait_for(lambda: len(sent(fake_wechat)) == 1, timeout=30)
    wait_for(lambda: read(scrape(url), "wxbot_notification_sends_total", outcome="sent") == 1, timeout=10)
    decided_application(app, openid="o_b", initiator="周强")
    wait_for(lambda: len(sent(fake_wechat)) == 2, timeout=30)
    wait_for(lambda: read(scrape(url), "wxbot_notification_sends_total", outcome="sent") == 2, timeout=10)

    # One process: no files to add up, none left behind.
    assert list(tmp_path.glob("wxbot-metrics-*")) == [] and not (tmp_path / "inherited").exists()

    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(30) == 0
