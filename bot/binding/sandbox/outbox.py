"""The sandbox bureau's outbox: decisions waiting to reach the bot's callback. The service puts
them here once the state they report is saved; the desk (desk.py) delivers them, retrying until the
bot has each one."""

from __future__ import annotations

from collections.abc import Callable

from bot.binding.models import Decision
from bot.binding.sandbox.store import SandboxStore

# KEYS: queue. ARGV: event id, now, lease end. Claims the event only if it is due.
_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


class Outbox:
    """Decisions waiting to reach the bot's callback: a sorted set scored by next attempt time."""

    LEASE = 30

    def __init__(self, store: SandboxStore, clock: Callable[[], float]) -> None:
        self.store, self.clock = store, clock
        self.queue, self.events = store.key("outbox"), store.key("outbox", "events")
        self._claim = store.redis.register_script(_CLAIM)

    def add(self, decision: Decision) -> None:
        self.store.redis.hset(self.events, decision.event_id, decision.model_dump_json())
        self.store.redis.zadd(self.queue, {decision.event_id: self.clock()}, nx=True)

    def claim_due(self, limit: int = 20) -> list[Decision]:
        """Take due events; each is leased (rescheduled) so that another desk does not send it too."""
        now = self.clock()
        claimed = []
        for raw in self.store.redis.zrangebyscore(self.queue, "-inf", now, start=0, num=limit):
            # The lease: only the first desk to claim a due event sends it until the lease ends.
            if self._claim(keys=[self.queue], args=[raw, now, now + self.LEASE]):
                payload = self.store.redis.hget(self.events, raw)
                if payload:
                    claimed.append(Decision.model_validate_json(payload))
        return claimed

    def done(self, decision: Decision) -> None:
        self.store.redis.zrem(self.queue, decision.event_id)
        self.store.redis.hdel(self.events, decision.event_id)

    def retry_later(self, decision: Decision, attempt_delay: float) -> None:
        self.store.redis.zadd(self.queue, {decision.event_id: self.clock() + attempt_delay}, xx=True)

    def pending(self) -> int:
        return self.store.redis.zcard(self.queue)
