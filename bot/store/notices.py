"""The notices waiting for a user's next message (`{<ns>:user:<openid>}:notices`): one writer of
their format, which bot/notify/records.py `take_pending` reads."""

from __future__ import annotations

import json

import redis

from bot.store.keys import Keys


def wait_for_user(client: redis.Redis, keys: Keys, openid: str, text: str, ttl: int,
                  notification_id: str = "", sealed: bool = False) -> None:
    """A notice shown in front of the user's next reply: a parked notification (its id), or a
    notice of the bot's own (no id, e.g. bot/conversations/identities.py). `sealed`: `text` is
    encrypted (a late answer: bot/notify/sealed.py, under the notification's id)."""
    key = keys.pending_notices(openid)
    item = {"id": notification_id, "text": text, **({"sealed": True} if sealed else {})}
    client.rpush(key, json.dumps(item, ensure_ascii=False))
    client.expire(key, ttl)
