"""`wxbot serve`: the webhook under gunicorn, with the embedded Redis when no URL is set."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

from gunicorn import util
from gunicorn.app.base import BaseApplication

from bot.config import ServerSettings, Settings
from bot.logs import configure_for, log
from bot.server_logs import ServerLogs


class WebhookServer(BaseApplication):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        configure_for(settings)  # gunicorn's master logs as the workers do
        super().__init__()

    def load_config(self) -> None:
        server = self.settings.server
        for key, value in {
            "bind": [server.bind],
            "workers": server.workers,
            "threads": server.threads,
            "worker_class": "gthread",
            # A handler may outlive WeChat's deadline (its answer then goes out as a
            # customer-service message); the worker must not be killed meanwhile.
            "timeout": 60,
            "graceful_timeout": 30,
            # Access and error log: JSON lines on stderr, through bot.logs (see bot/server_logs.py).
            "logger_class": ServerLogs,
            "loglevel": self.settings.log.level.lower(),
            "proc_name": "wxbot",
            "child_exit": _child_exit,
        }.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 27 opens a control socket at one fixed path per user; several
            # instances on one machine would fight over it and nothing here uses it.
            self.cfg.set("control_socket_disable", True)

    def run(self) -> None:
        warn_if_exposed(self.settings.server)
        # The workers count into files in one directory, which GET /metrics adds up.
        with metrics_directory():
            super().run()

    def load(self):  # noqa: ANN201 - called in each worker after the fork
        from bot.app import create_app
        from bot.maintenance import start_maintenance
        app = create_app(self.settings)
        start_maintenance(app.extensions["wxbot"])
        return app


def warn_if_exposed(server: ServerSettings) -> None:
    """One line at start when clients could reach gunicorn without a proxy in front: a gthread
    worker holds a thread for each slow client, so a few hundred connections trickling their
    headers (slowloris) take every thread. nginx buffers whole requests first."""
    if reachable_beyond_loopback(server.bind) and not server.behind_proxy:
        log.warning("bind_without_proxy", bind=server.bind,
                    fix="put nginx in front of gunicorn and set server.behind_proxy = true")


def reachable_beyond_loopback(bind: str) -> bool:
    """Whether other machines can connect to gunicorn bound to `bind` (gunicorn's syntax): any
    host but a loopback address or `localhost`. Unix sockets and inherited descriptors are not
    judged."""
    address = util.parse_address(bind)
    if not isinstance(address, tuple):
        return False
    host = address[0]
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, or "" (every interface)
        return True


def _child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook, in the master
    """A worker is gone: its in-progress gauge must no longer count."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh, empty PROMETHEUS_MULTIPROC_DIR (under $TMPDIR) for this process and the ones it
    forks, removed when this process is done with it. An inherited value is replaced: counts from
    another run or another instance would be added to ours."""
    if "bot.metrics" in sys.modules:
        raise RuntimeError("bot.metrics was imported before its multiprocess directory was set")
    directory = tempfile.mkdtemp(prefix="wxbot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    owner = os.getpid()
    try:
        yield directory
    finally:
        if os.getpid() == owner:  # gunicorn's forked workers unwind through here too
            shutil.rmtree(directory, ignore_errors=True)
