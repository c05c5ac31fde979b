"""Work that waits for Redis, done in rounds by one daemon thread per process: started when the
first item comes, gone when none is left (a forked worker starts its own). The ledger's lease
renewals and retractions (bot/store/ledger.py) and the late answers waiting to be recorded
(bot/notify/late.py) are its items."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Rounds(Generic[K, V]):
    def __init__(self, name: str, every: float, work: Callable[[K, V], bool]) -> None:
        """Every `every` seconds, `work(key, item)` for each item; True: done, the item leaves."""
        self._name, self._every, self._work = name, every, work
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, key: K, item: V, *, most: int | None = None) -> tuple[K, V] | None:
        """Add (or replace) an item; with `most`, the oldest beyond that many leaves: it is returned."""
        dropped = None
        with self._lock:
            if most is not None and key not in self._items and len(self._items) >= most:
                oldest = next(iter(self._items))
                dropped = oldest, self._items.pop(oldest)
            self._items[key] = item
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name=self._name)
                self._thread.start()
        return dropped

    def discard(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(self._every)
            with self._lock:
                if not self._items:
                    self._thread = None
                    return
                items = list(self._items.items())
            for key, item in items:
                if self._work(key, item):
                    self.discard(key)
