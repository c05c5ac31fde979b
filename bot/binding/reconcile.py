"""For callbacks that never came: ask the binding service about applications pending too long.

What it records is the bureau's own answer to the status call, so its decisions are confirmed by
construction (a callback's are checked first: bot.binding.confirm). It also catches a genuine
callback refused because it came before the bureau's status said so: that application is still
pending here, and is recorded once the status does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.binding import errors as e
from bot.binding.decisions import Decisions
from bot.binding.models import ApplicationStatus, Decision
from bot.binding.service import BindingService
from bot.logs import log


@dataclass
class Reconciler:
    service: BindingService
    decisions: Decisions
    older_than: float
    clock: Callable[[], float] = time.time

    def run_once(self) -> dict[str, int]:
        now = self.clock()
        counts = {"checked": 0, "recorded": 0, "pending": 0}
        for application_id in self.decisions.pending_since(now - self.older_than):
            try:
                application = self.service.application(application_id)
            except e.ApplicationNotFound:
                self.decisions.forget(application_id)
                continue
            except e.ServiceUnavailable:
                log.warning("reconcile_paused", reason="binding service unavailable")
                break
            counts["checked"] += 1
            if application.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
                decided_at = application.decided_at or application.submitted_at
                recorded = self.decisions.record(Decision(
                    event_id=f"reconciled:{application_id}", kind="application.decided",
                    application_id=application_id, binding_id=application.binding_id,
                    status=application.status.value, reason=application.reason, decided_at=decided_at))
                counts["recorded"] += int(recorded)
            else:
                self.decisions.still_pending(application_id, now)
                counts["pending"] += 1
        return counts
