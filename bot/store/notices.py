"""The notices waiting for a user's next message (`<ns>:notify:pending:<openid>`): one writer of
their format, which bot/notify/records.py `take_pending` reads."""

from __future__ import annotations

import json

import redis

from bot.store.keys import Keys


def wait_for_user(client: redis.Redis, keys: Keys, openid: str, text: str, ttl: int,
                  notification_id: str = "") -> None:
    """A notice shown in front of the user's next reply: a parked notification (its id), or a
    notice of the bot's own (no id, e.g. bot/conversations/identities.py)."""
    key = keys.pending_notices(openid)
    client.rpush(key, json.dumps({"id": notification_id, "text": text}, ensure_ascii=False))
    client.expire(key, ttl)
