"""Background duties of a serving process: the sandbox's desk (when the sandbox is the binding
service) and the reconciler. Running in several processes at once is safe: each step claims
its work in Redis, and decisions are recorded exactly once."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from bot.binding.factory import callback_url, signing_key
from bot.binding.reconcile import Reconciler
from bot.binding.sandbox.desk import SandboxDesk
from bot.binding.sandbox.service import SandboxService
from bot.logs import log

if TYPE_CHECKING:
    from bot.app import Bot

RECONCILE_EVERY = 60.0


def start_maintenance(bot: Bot, interval: float = 1.0) -> threading.Event:
    desk = (SandboxDesk(bot.binding, callback_url(bot.settings), signing_key(bot.settings))
            if isinstance(bot.binding, SandboxService) else None)
    reconciler = Reconciler(bot.binding, bot.decisions, older_than=bot.settings.binding.reconcile_after)
    stop = threading.Event()

    def loop() -> None:
        next_reconcile = time.monotonic() + RECONCILE_EVERY
        while not stop.wait(interval):
            try:
                if desk is not None:
                    desk.tick()
                if time.monotonic() >= next_reconcile:
                    next_reconcile = time.monotonic() + RECONCILE_EVERY
                    reconciler.run_once()
            except Exception:  # noqa: BLE001 - a failed round is logged; the next one tries again
                log.exception("maintenance_failed")

    threading.Thread(target=loop, daemon=True, name="wxbot-maintenance").start()
    return stop
