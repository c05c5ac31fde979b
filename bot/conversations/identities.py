"""Which insured person an openid has proven to be. Written only after a verification through the
binding service succeeded (an openid alone proves nothing), encrypted like the drafts.

A link is good for its own openid only (the openid is inside the encrypted, authenticated value:
a value copied to another openid's key is refused) and for `days` (then verification is asked
again). Each person's newest openid is remembered, so that linking them from a second WeChat
account can be told in the first."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken

from bot.logs import log, user_ref
from bot.store.keys import Keys
from bot.store.notices import wait_for_user
from bot.store.session import Session, calling_out, of
from flows.domain.identity import normalise_id_number, parse_id_number

DEFAULT_DAYS = 30
OPENED = 4096   # identities kept decrypted per process (about 1 MB)


@dataclass(frozen=True)
class Linked:
    record: dict[str, Any]
    elsewhere: str | None   # another openid this person was linked from until now, if any


class Identities:
    def __init__(self, client: redis.Redis, keys: Keys, secret_key: str, days: int = DEFAULT_DAYS,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis, self.keys, self.clock = client, keys, clock
        self.ttl = days * 24 * 3600
        self.cipher = Fernet(secret_key.encode())
        # Identities as decrypted, by token: a user's link is read with every message they send,
        # and changes once a month at most.
        self._opened = _Opened(OPENED)
        self._digest_key = hashlib.sha256(b"id-digest:" + secret_key.encode()).digest()

    def link(self, openid: str, person: dict[str, Any], id_number: str, today: date,
             session: Session | None = None) -> Linked:
        calling_out(session)
        record = {"openid": openid, "verified_at": self.clock(),
                  "person_id": person["person_id"], "masked_name": person["masked_name"],
                  "masked_id_number": person["masked_id_number"],
                  "birth_date": parse_id_number(id_number, today).birth_date.isoformat(),
                  "id_digest": self.digest(id_number)}
        token = self.cipher.encrypt_at_time(json.dumps(record).encode(), int(self.clock()))
        # Two slots (the user's, the person's): one round trip, not one transaction; a link written
        # without its person's pointer only misses the "used from another account" notice.
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.identity(openid), token, ex=self.ttl)
        pipe.getset(self.keys.person_openid(record["id_digest"]), openid)
        pipe.expire(self.keys.person_openid(record["id_digest"]), self.ttl)
        _, before, _ = pipe.execute()
        self._opened.put(token, dict(record))
        self._remember(session, openid, token)
        before = before.decode() if before else None
        still = before and before != openid and (self.get(before) or {}).get("person_id") == person["person_id"]
        return Linked(record, before if still else None)

    def get(self, openid: str, session: Session | None = None) -> dict[str, Any] | None:
        records = of(session, openid)
        if records:
            token = records.identity
        else:
            calling_out(session)
            token = self.redis.get(self.keys.identity(openid))
        if token is None:
            return None
        record = self._opened.get(token)
        if record is None:
            try:
                # The token's own (authenticated) time bounds its age, whatever the key's TTL says.
                record = json.loads(self.cipher.decrypt_at_time(token, self.ttl, int(self.clock())))
            except (InvalidToken, ValueError):
                return None
            self._opened.put(token, record)
        elif not self._fresh(token):
            return None
        if record.get("openid") != openid:
            # Another openid's link, copied here (or one written before links named their openid).
            log.warning("identity_link_refused", user_ref=user_ref(openid))
            return None
        return dict(record)

    def _fresh(self, token: bytes) -> bool:
        """The age check decrypt_at_time makes, for a token opened before (Fernet's timestamp:
        bytes 1–8 of the decoded token; up to 60 s ahead of this clock is tolerated)."""
        stamp = int.from_bytes(base64.urlsafe_b64decode(token[:12])[1:9], "big")
        now = int(self.clock())
        return stamp + self.ttl >= now and stamp <= now + 60

    def openid_of(self, id_digest: str) -> str | None:
        """The openid a person (by their ID number's keyed digest) is linked from now: the newest
        account they verified on, while that link holds (not expired, not unlinked, still theirs).
        None: they never used this account, or not within `days`. Outside any message (a decision
        about them is being recorded)."""
        raw = self.redis.get(self.keys.person_openid(id_digest))
        if raw is None:
            return None
        openid = raw.decode()
        record = self.get(openid)
        return openid if record and record.get("id_digest") == id_digest else None

    def unlink(self, openid: str, session: Session | None = None) -> None:
        calling_out(session)
        record = self.get(openid, session)
        self.redis.delete(self.keys.identity(openid))
        if record:   # the person's newest account is no longer this one
            owner = self.keys.person_openid(record["id_digest"])
            if self.redis.get(owner) == openid.encode():
                self.redis.delete(owner)
        self._remember(session, openid, None)

    def tell(self, openid: str, text: str, session: Session | None = None) -> None:
        """A notice shown in front of the user's next reply (with the parked notifications);
        `session`: the message's that tells it (another user's)."""
        calling_out(session)
        wait_for_user(self.redis, self.keys, openid, text, self.ttl)

    @staticmethod
    def _remember(session: Session | None, openid: str, token: bytes | None) -> None:
        records = of(session, openid)  # a later read in this message sees the change
        if records:
            records.identity = token

    def digest(self, id_number: str) -> str:
        """Recognises the same ID number again without keeping the number."""
        return hmac.new(self._digest_key, normalise_id_number(id_number).encode(), hashlib.sha256).hexdigest()


class _Opened:
    """A bounded map token -> decrypted record, least recently used out first."""

    def __init__(self, size: int) -> None:
        self._size, self._items = size, OrderedDict[bytes, dict[str, Any]]()
        self._lock = threading.Lock()

    def get(self, token: bytes) -> dict[str, Any] | None:
        with self._lock:
            record = self._items.get(token)
            if record is not None:
                self._items.move_to_end(token)
            return record

    def put(self, token: bytes, record: dict[str, Any]) -> None:
        with self._lock:
            self._items[token] = record
            if len(self._items) > self._size:
                self._items.popitem(last=False)
