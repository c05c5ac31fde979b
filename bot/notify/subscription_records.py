"""What each user said to the subscription notices (订阅通知), as WeChat's events tell it: the
webhook records them (handlers/ports.py `Subscriptions`), the sender reads and spends them
(bot/notify/subscription.py).

One hash per user, `{<ns>:notify}:subscribed:<openid>` (bot/store/keys.py), per template id:
  status:<id>   accept | reject — the user's last word on it (the pop-up, the notice's settings,
                or a send WeChat reports as blocked by the user)
  left:<id>     one-time sends left: each accept in the pop-up allows one send of a one-time
                notice; a long-term notice (settings: long_term) is not counted down
  receipt:<id>  "<unix time> <ErrorStatus>" of WeChat's last subscribe_msg_sent_event: proof that
                a send went out, for a sender whose own answer was lost
Only the templates the settings name are recorded (WeChat signs the events, but an account may
have other templates in its console). The hash lives `KEPT` after the user's last event or send:
subscriptions outlive unfollowing (a notice reaches users who do not follow).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import redis

from bot.config import NotificationSettings
from bot.store.keys import Keys

ACCEPT, REJECT = "accept", "reject"
USER_BLOCK = "failed:user block"   # WeChat's receipt for a user who refuses the notice
KEPT = 2 * 365 * 24 * 3600

# KEYS: the user's hash. ARGV: template id, ttl. One one-time send spent: the count goes down, and
# the field goes at zero (a later accept starts from nothing, never from below it).
_SPEND = """
local left = tonumber(redis.call('HGET', KEYS[1], 'left:' .. ARGV[1]) or '0')
if left > 1 then
  redis.call('HSET', KEYS[1], 'left:' .. ARGV[1], left - 1)
else
  redis.call('HDEL', KEYS[1], 'left:' .. ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


class SubscriptionRecords:
    def __init__(self, client: redis.Redis, keys: Keys, settings: NotificationSettings) -> None:
        self.redis, self.keys = client, keys
        # Every kind's notice, in use or not: an operator may turn a kind's channel to it later.
        self.known = frozenset(kind.subscription.template_id for kind in settings.kinds().values() if kind.subscription)
        self._spend = client.register_script(_SPEND)

    # -- the webhook's side: WeChat's events ---------------------------------------------------------
    def popup(self, openid: str, choices: Mapping[str, str]) -> None:
        """subscribe_msg_popup_event: template id → accept | reject, as the user chose in the pop-up."""
        self._record(openid, choices, from_popup=True)

    def changed(self, openid: str, choices: Mapping[str, str]) -> None:
        """subscribe_msg_change_event: the user changed a notice in its settings (WeChat reports refusals)."""
        self._record(openid, choices, from_popup=False)

    def sent(self, openid: str, results: Mapping[str, str]) -> None:
        """subscribe_msg_sent_event: template id → ErrorStatus (success, failed:user block, …) of a send."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=True)   # one slot: MULTI/EXEC on a cluster too
        for template_id, status in results.items():
            if template_id not in self.known:
                continue
            pipe.hset(self._key(openid), f"receipt:{template_id}", f"{now:.3f} {status}")
            if status.strip().lower() == USER_BLOCK:
                pipe.hset(self._key(openid), f"status:{template_id}", REJECT)
                pipe.hdel(self._key(openid), f"left:{template_id}")
        pipe.expire(self._key(openid), KEPT)
        pipe.execute()

    def _record(self, openid: str, choices: Mapping[str, str], from_popup: bool) -> None:
        pipe = self.redis.pipeline(transaction=True)   # one slot: MULTI/EXEC on a cluster too
        for template_id, status in choices.items():
            if template_id not in self.known or status not in (ACCEPT, REJECT):
                continue
            pipe.hset(self._key(openid), f"status:{template_id}", status)
            if status == REJECT:
                pipe.hdel(self._key(openid), f"left:{template_id}")
            elif from_popup:
                pipe.hincrby(self._key(openid), f"left:{template_id}", 1)
        pipe.expire(self._key(openid), KEPT)
        pipe.execute()

    # -- the sender's side ---------------------------------------------------------------------------
    def may_send(self, openid: str, template_id: str, long_term: bool) -> bool:
        """Whether the user's subscription allows a send now, as far as WeChat told us."""
        status, left = self.redis.hmget(self._key(openid), f"status:{template_id}", f"left:{template_id}")
        if status != ACCEPT.encode():
            return False
        return long_term or int(left or 0) > 0

    def spent(self, openid: str, template_id: str, long_term: bool) -> None:
        """A send went out: a one-time subscription is used up by it; a long-term one is kept."""
        if long_term:
            self.redis.expire(self._key(openid), KEPT)
        else:
            self._spend(keys=[self._key(openid)], args=[template_id, KEPT])

    def refused(self, openid: str, template_id: str) -> None:
        """WeChat refused a send (43101: no subscription, or the user cancelled it)."""
        pipe = self.redis.pipeline(transaction=True)   # one slot: MULTI/EXEC on a cluster too
        pipe.hset(self._key(openid), f"status:{template_id}", REJECT)
        pipe.hdel(self._key(openid), f"left:{template_id}")
        pipe.execute()

    def receipt_since(self, openid: str, template_id: str, since: float) -> bool:
        """Whether WeChat reported a send of this template to this user at `since` or later."""
        receipt = self.redis.hget(self._key(openid), f"receipt:{template_id}")
        return bool(receipt) and float(receipt.split()[0]) >= since

    def _key(self, openid: str) -> str:
        return self.keys.subscriptions(openid)
