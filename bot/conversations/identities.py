"""Which insured person an openid has proven to be. Written only after a verification through the
binding service succeeded (an openid alone proves nothing), encrypted like the drafts."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken

from bot.store.keys import Keys
from bot.store.prefetch import prefetched
from flows.identity import normalise_id_number, parse_id_number

LINK_TTL = 365 * 24 * 3600  # a year; verifying again is cheap


class Identities:
    def __init__(self, client: redis.Redis, keys: Keys, secret_key: str) -> None:
        self.redis, self.keys = client, keys
        self.cipher = Fernet(secret_key.encode())
        self._digest_key = hashlib.sha256(b"id-digest:" + secret_key.encode()).digest()

    def link(self, openid: str, person: dict[str, Any], id_number: str, today) -> dict[str, Any]:  # noqa: ANN001
        record = {"person_id": person["person_id"], "masked_name": person["masked_name"],
                  "masked_id_number": person["masked_id_number"],
                  "birth_date": parse_id_number(id_number, today).birth_date.isoformat(),
                  "id_digest": self.digest(id_number)}
        token = self.cipher.encrypt(json.dumps(record).encode())
        self.redis.set(self.keys.identity(openid), token, ex=LINK_TTL)
        self._remember(openid, token)
        return record

    def get(self, openid: str) -> dict[str, Any] | None:
        records = prefetched(openid)
        token = records.identity if records else self.redis.get(self.keys.identity(openid))
        if token is None:
            return None
        try:
            return json.loads(self.cipher.decrypt(token))
        except (InvalidToken, ValueError):
            return None

    def unlink(self, openid: str) -> None:
        self.redis.delete(self.keys.identity(openid))
        self._remember(openid, None)

    @staticmethod
    def _remember(openid: str, token: bytes | None) -> None:
        records = prefetched(openid)  # a later read in this message sees the change
        if records:
            records.identity = token

    def digest(self, id_number: str) -> str:
        """Recognises the same ID number again without keeping the number."""
        return hmac.new(self._digest_key, normalise_id_number(id_number).encode(), hashlib.sha256).hexdigest()
