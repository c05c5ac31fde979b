"""One record per notification (one per decision): its status from queued to delivered."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from bot import metrics
from bot.store.keys import Keys
from bot.store.notices import wait_for_user
from bot.store.session import Session, calling_out, of

RECORD_TTL = 90 * 24 * 3600

QUEUED, SENT, DELIVERED, DELIVERY_FAILED, WAITING_FOR_USER, SHOWN, FAILED = (
    "queued", "sent", "delivered", "delivery_failed", "waiting_for_user", "shown", "failed")
DONE = frozenset({SENT, DELIVERED, DELIVERY_FAILED, WAITING_FOR_USER, SHOWN})


class NotificationRecords:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis, self.keys = client, keys

    def create(self, notification_id: str, openid: str, decision_json: str) -> bool:
        """True when new; an existing record (a repeated decision) is left as it is."""
        key = self.keys.notification(notification_id)
        created = self.redis.hsetnx(key, "status", QUEUED)
        if created:
            self.redis.hset(key, mapping={"openid": openid, "decision": decision_json, "attempts": 0,
                                          "created_at": time.time()})
            self.redis.expire(key, RECORD_TTL)
        return bool(created)

    def get(self, notification_id: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(self.keys.notification(notification_id))
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    def update(self, notification_id: str, **fields: Any) -> None:
        self.redis.hset(self.keys.notification(notification_id), mapping={k: str(v) for k, v in fields.items()})

    def attempt(self, notification_id: str) -> int:
        return self.redis.hincrby(self.keys.notification(notification_id), "attempts", 1)

    def sent(self, notification_id: str, msgid: str) -> None:
        self.update(notification_id, status=SENT, msgid=msgid, sent_at=time.time(), last_error="")
        self.redis.set(self.keys.notification_by_msgid(msgid), notification_id, ex=RECORD_TTL)

    def delivery_report(self, msgid: str, status: str) -> str | None:
        """TEMPLATESENDJOBFINISH: WeChat tells whether the card reached the phone."""
        notification_id = self.redis.get(self.keys.notification_by_msgid(msgid))
        if notification_id is None:
            metrics.delivery_report("unmatched")
            return None
        delivered = status.strip().lower() == "success"
        self.update(notification_id.decode(), status=DELIVERED if delivered else DELIVERY_FAILED,
                    delivery_status=status)
        metrics.delivery_report(DELIVERED if delivered else DELIVERY_FAILED)
        return notification_id.decode()

    # -- users who had unfollowed (43004) --------------------------------------------------------
    def park_for_user(self, notification_id: str, openid: str, text: str) -> None:
        self.update(notification_id, status=WAITING_FOR_USER)
        wait_for_user(self.redis, self.keys, openid, text, RECORD_TTL, notification_id)

    def take_pending(self, openid: str, session: Session | None = None) -> list[str]:
        """The notices waiting for this user, removed as they are taken (shown once)."""
        records = of(session, openid)
        if records and not records.waiting_notices:
            return []  # known from the message's admission: nothing waits, no need to ask
        calling_out()
        key = self.keys.pending_notices(openid)
        pipe = self.redis.pipeline()
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        items, _ = pipe.execute()
        if records:
            records.waiting_notices = 0
        texts = []
        for raw in items:
            item = json.loads(raw)
            if item["id"]:   # a notification's (not a notice such as bot/conversations/identities.py's)
                self.update(item["id"], status=SHOWN, shown_at=time.time())
            texts.append(item["text"])
        return texts
