"""The sandbox bureau's desk: decides delayed reviews when their time comes and delivers every
decision to the bot's callback URL, signed like the real system's, until the bot has it."""

from __future__ import annotations

import threading

import requests

from bot.binding.models import Decision
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import SigningKey, sign
from bot.logs import log

RETRY_DELAY = 5.0


class SandboxDesk:
    def __init__(self, service: SandboxService, callback_url: str, key: SigningKey, timeout: float = 3.0) -> None:
        self.service, self.callback_url, self.key, self.timeout = service, callback_url, key, timeout
        self.outbox = service.outbox()
        self._http = requests.Session()

    def tick(self) -> int:
        """One round: decide what is due, deliver what waits. Returns how many were delivered."""
        self.service.decide_due()
        delivered = 0
        for decision in self.outbox.claim_due():
            if self._deliver(decision):
                self.outbox.done(decision)
                delivered += 1
            else:
                self.outbox.retry_later(decision, RETRY_DELAY)
        return delivered

    def _deliver(self, decision: Decision) -> bool:
        body = decision.model_dump_json().encode()
        path = "/" + self.callback_url.split("://", 1)[-1].split("/", 1)[-1]
        headers = {"Content-Type": "application/json", **sign(self.key, "POST", path, body)}
        try:
            response = self._http.post(self.callback_url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("sandbox_callback_failed", event_id=decision.event_id, error=type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("sandbox_callback_refused", event_id=decision.event_id, status=response.status_code)
            return False
        return True

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.wait(interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the desk keeps working through a bad round
                log.exception("sandbox_desk_failed")

    def start(self, interval: float = 1.0) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop, interval), daemon=True, name="sandbox-desk").start()
        return stop
