"""A real Redis Cluster for the tests: three masters, each with a replica, started from the embedded
redis-server binary, and the failover a killed master causes. With `tls` (tests/support/tls.py's
certificates), Debian's redis-server instead, speaking only TLS: to clients, on the cluster bus and
between master and replica."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from bot.store.server import find_redis_server
from tests.conftest import free_port, wait_for
from tests.support.tls import DEBIAN_REDIS, DEBIAN_REDIS_CLI, redis_py_tls


class LocalCluster:
    def __init__(self, directory: Path, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000,
                 tls: dict[str, str] | None = None, tls_auth_clients: str = "optional") -> None:
        """`tls`: certificates() to run the nodes with, TLS only; `tls_auth_clients` "yes" makes
        every node refuse a client without a certificate its CA signed."""
        self.directory, self.masters, self.replicas = directory, masters, replicas
        self.node_timeout_ms = node_timeout_ms
        self.tls, self.tls_auth_clients = tls, tls_auth_clients
        self.ports = [_node_port() for _ in range(masters * (1 + replicas))]
        self.processes: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        """Any node will do: the client learns the rest from it."""
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.ports[0]}/0"

    def client(self, port: int, **options) -> redis.Redis:
        """A plain client of one node (not a cluster client), over TLS if the nodes speak it."""
        return redis.Redis(host="127.0.0.1", port=port, **(redis_py_tls(self.tls) if self.tls else {}), **options)

    def start(self) -> LocalCluster:
        try:
            for port in self.ports:
                self._start_node(port)
            if self.tls:
                cli = [DEBIAN_REDIS_CLI, "--tls", "--cacert", self.tls["ca"],
                       "--cert", self.tls["cert"], "--key", self.tls["key"]]
            else:
                cli = [str(Path(find_redis_server()).with_name("redis-cli"))]
            subprocess.run([*cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports),
                            "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                           check=True, capture_output=True, timeout=60)
            wait_for(self.healthy, timeout=30)
        except BaseException:
            self.stop()   # nodes start in sessions of their own: none may outlive a failed start
            raise
        return self

    def _start_node(self, port: int) -> None:
        node = self.directory / str(port)
        node.mkdir(parents=True, exist_ok=True)
        if self.tls:   # no plaintext port at all; the bus (port + 10000) and replication over TLS too
            listen = ["--port", "0", "--tls-port", str(port), "--tls-cluster", "yes", "--tls-replication", "yes",
                      "--tls-cert-file", self.tls["cert"], "--tls-key-file", self.tls["key"],
                      "--tls-ca-cert-file", self.tls["ca"], "--tls-auth-clients", self.tls_auth_clients,
                      "--repl-diskless-sync-delay", "0"]   # 7.0 waits 5 s for more replicas; 6.2 syncs at once
        else:
            listen = ["--port", str(port)]
        self.processes[port] = subprocess.Popen(
            [DEBIAN_REDIS if self.tls else find_redis_server(), *listen, "--bind", "127.0.0.1", "--dir", str(node),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout_ms), "--appendonly", "yes", "--save", "",
             "--logfile", str(node / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: self._answers(port), timeout=10)

    def _answers(self, port: int) -> bool:
        try:
            return bool(self.client(port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def healthy(self) -> bool:
        """Every live node says the cluster is ok and every slot has a master."""
        try:
            return all(self.client(port).execute_command("CLUSTER INFO")["cluster_state"] == "ok"
                       for port, process in self.processes.items() if process.poll() is None)
        except redis.RedisError:
            return False

    def master_of(self, key: str) -> int:
        """The port of the master that owns `key`'s slot now."""
        client = self.client(next(p for p, proc in self.processes.items() if proc.poll() is None))
        slot = client.execute_command("CLUSTER KEYSLOT", key)
        for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(master[1])
        raise LookupError(slot)

    def kill(self, port: int) -> None:
        """SIGKILL the node: a crash, nothing flushed that was not already."""
        os.killpg(self.processes[port].pid, signal.SIGKILL)
        self.processes[port].wait(10)

    def await_failover(self, key: str, dead: int, timeout: float = 30) -> int:
        """Wait until a replica has taken over `key`'s slot from the dead master; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                owner = self.master_of(key)
                if owner != dead and self.healthy():
                    return owner
            except (redis.RedisError, LookupError):
                pass
            time.sleep(0.1)
        raise TimeoutError("no replica took over")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:   # a node that does not stop is killed: none may outlive the tests
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _node_port() -> int:
    """A free port whose cluster bus port (10,000 higher: Redis 6.2 fixes it so) is free too."""
    while True:
        port = free_port()
        if port <= 55000 and _free(port + 10000):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
