"""One record per notification (one per person a decision tells — a stream entry — and one per
late answer): its status from queued to delivered, as the webhook reads and changes it (delivery
reports, news shown at a user's next visit). The worker's side of the record — created, claimed,
sent, failed — is bot/notify/queue.py."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from bot import metrics
from bot.logs import log, user_ref
from bot.notify.sealed import Seal
from bot.store.keys import Keys
from bot.store.notices import wait_for_user
from bot.store.session import Session, calling_out, of

RECORD_TTL = 90 * 24 * 3600
# A late answer's record (its sealed text, when it dies) is kept a week: its 48-hour window is long over by then.
LATE_KEPT = 7 * 24 * 3600

QUEUED, SENT, DELIVERED, DELIVERY_FAILED, WAITING_FOR_USER, SHOWN, FAILED = (
    "queued", "sent", "delivered", "delivery_failed", "waiting_for_user", "shown", "failed")
DONE = frozenset({SENT, DELIVERED, DELIVERY_FAILED, WAITING_FOR_USER, SHOWN})

# KEYS: record. ARGV: field, value, … Changes a record that exists; never makes one without a TTL
# (a report or a shown notice whose record has expired, or was written under an older key layout).
_UPDATE_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class NotificationRecords:
    def __init__(self, client: redis.Redis, keys: Keys, seal: Seal | None = None) -> None:
        """`seal`: what late answers are encrypted with (conversation.secret_key); without it,
        a parked late answer is not shown."""
        self.redis, self.keys, self.seal = client, keys, seal
        self._update_existing = client.register_script(_UPDATE_EXISTING)

    def get(self, notification_id: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(self.keys.notification(notification_id))
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    def update(self, notification_id: str, **fields: Any) -> None:
        self.redis.hset(self.keys.notification(notification_id), mapping={k: str(v) for k, v in fields.items()})

    def _update_if_kept(self, notification_id: str, **fields: Any) -> bool:
        args = [part for key, value in fields.items() for part in (key, str(value))]
        return bool(self._update_existing(keys=[self.keys.notification(notification_id)], args=args))

    def delivery_report(self, msgid: str, status: str) -> str | None:
        """TEMPLATESENDJOBFINISH: WeChat tells whether the card reached the phone."""
        notification_id = self.redis.get(self.keys.notification_by_msgid(msgid))
        if notification_id is None:
            metrics.delivery_report("unmatched")
            return None
        delivered = status.strip().lower() == "success"
        self._update_if_kept(notification_id.decode(), status=DELIVERED if delivered else DELIVERY_FAILED,
                             delivery_status=status)
        metrics.delivery_report(DELIVERED if delivered else DELIVERY_FAILED)
        return notification_id.decode()

    # -- users who had unfollowed (43004) --------------------------------------------------------
    def park_for_user(self, notification_id: str, openid: str, text: str, sealed: bool = False) -> None:
        """The news waits for the user's next message. The notice goes first: a worker that dies
        in between sends again, finds 43004 again and parks again — the news shown twice rather
        than never. `sealed`: kept encrypted until shown (a late answer)."""
        if sealed:
            text = self._seal().seal(text, notification_id)
        wait_for_user(self.redis, self.keys, openid, text, RECORD_TTL, notification_id, sealed=sealed)
        self.update(notification_id, status=WAITING_FOR_USER)

    def _seal(self) -> Seal:
        if self.seal is None:
            raise RuntimeError("NotificationRecords needs a Seal for late answers")
        return self.seal

    def take_pending(self, openid: str, session: Session | None = None) -> list[str]:
        """The notices waiting for this user, removed as they are taken (shown once)."""
        records = of(session, openid)
        if records and not records.waiting_notices:
            return []  # known from the message's admission: nothing waits, no need to ask
        calling_out(session)
        key = self.keys.pending_notices(openid)
        pipe = self.redis.pipeline(transaction=True)   # one slot: MULTI/EXEC on a cluster too
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        items, _ = pipe.execute()
        if records:
            records.waiting_notices = 0
        texts = []
        for raw in items:
            item = json.loads(raw)
            text = item["text"]
            if item.get("sealed"):   # a late answer's
                text = self.seal.open(text, item["id"]) if self.seal is not None else None
                if text is None:
                    log.warning("notice_unreadable", notification_id=item["id"], user_ref=user_ref(openid))
                    continue
            if item["id"]:   # a notification's (not a notice such as bot/conversations/identities.py's)
                self._update_if_kept(item["id"], status=SHOWN, shown_at=time.time())
            texts.append(text)
        if records:
            records.taken_notices = texts   # should the reply be replaced by an apology, they go with it
        return texts
