"""Count the Redis commands a piece of work sends, as the server sees them (MONITOR)."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator

import redis

from tests.conftest import wait_for

# A new connection's handshake and the idle health check: per connection, not per piece of work.
_CONNECTION_UPKEEP = frozenset({"HELLO", "CLIENT", "PING", "SELECT"})


@contextlib.contextmanager
def commands_sent(client: redis.Redis, exclude: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """The commands clients sent while the block ran, each as one line ("EVALSHA 3f… 2 key…").
    Commands a Lua script runs are left out (they cost no round trip), and so are those naming
    a part in `exclude` (another component sharing the server, the caller's own polling), and connection upkeep."""
    seen: list[str] = []
    marker = f"monitor-end-{uuid.uuid4().hex}"
    ready = threading.Event()

    def listen() -> None:
        with client.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                if marker in entry["command"]:
                    return
                if entry.get("client_type") == "lua":
                    continue
                if any(part in entry["command"] for part in exclude):
                    continue
                if entry["command"].split(" ", 1)[0].upper() in _CONNECTION_UPKEEP:
                    continue
                seen.append(entry["command"])

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_for(ready.is_set, timeout=5)
    commands: list[str] = []
    try:
        yield commands
    finally:
        client.echo(marker)
        listener.join(timeout=5)
        commands.extend(seen)


def round_trips(commands: list[str]) -> int:
    """A MULTI … EXEC transaction travels in one round trip; every other command in its own
    (the code under test sends no plain pipelines)."""
    trips, in_transaction = 0, False
    for command in commands:
        name = command.split(" ", 1)[0].upper()
        if name == "MULTI":
            in_transaction = True
            trips += 1
        elif name == "EXEC":
            in_transaction = False
        elif not in_transaction:
            trips += 1
    return trips
