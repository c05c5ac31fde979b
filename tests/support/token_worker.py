"""A separate process that needs the access token (for the multi-process token test)."""

from __future__ import annotations

import redis

from bot.store.keys import Keys
from bot.wechat.client import WeChatAPI
from bot.wechat.token import SharedAccessToken


def fetch_token(redis_url: str, api_url: str, appid: str, secret: str, start_at: float) -> str:
    import time
    client = redis.Redis.from_url(redis_url)
    api = WeChatAPI(appid, secret, base_url=api_url, timeout=5)
    api.tokens = SharedAccessToken(client, Keys("wxbot", appid), api.fetch_stable_token)
    time.sleep(max(0.0, start_at - time.time()))  # all processes ask at the same moment
    return api.access_token
