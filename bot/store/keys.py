"""Every Redis key the bot writes, built in one place and namespaced by prefix and appid.

Keys that a script or a transaction uses together share a Redis Cluster hash tag (the part in
braces, which alone decides the key's slot), so that the same code runs on one Redis and on a
cluster:
  {<ns>:user:<openid>}     one user's: deliveries, lock, queue, rate window, draft, identity link,
                           waiting notices, their limit windows
  {<ns>:person:<digest>}   one insured person's (by their ID number's keyed digest): the openid
                           linked last, the per-person code window
  {<ns>:binding}           the binding decisions: seen, stream, pending, owners, unclaimed, refused
  {<ns>:notify}            the notification machinery's
Keys used alone (a plaintext nonce, a challenge, the access token) carry no tag: they spread.
Until commit 2ddcf01 the keys had other names; `wxbot redis migrate` moves them (bot/store/migrate.py).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


class Keys:
    def __init__(self, prefix: str, appid: str) -> None:
        self._base = f"{prefix}:{appid}"

    @classmethod
    def of(cls, settings: Settings) -> Keys:
        """The namespace of this deployment's account: `<redis.key_prefix>:<wechat.appid>`."""
        return cls(settings.redis.key_prefix, settings.wechat.appid)

    @property
    def namespace(self) -> str:
        return self._base

    # -- one user's: {<ns>:user:<openid>} ----------------------------------------------------------
    def _user(self, openid: str) -> str:
        return "{" + f"{self._base}:user:{openid}" + "}"

    def user_records(self, record: str) -> str:
        """A SCAN pattern for one kind of user record (`draft`, `identity`, `notices`), every user's."""
        return "{" + f"{self._base}:user:*" + "}:" + record

    def openid_in(self, key: str) -> str:
        """The openid a user's key belongs to."""
        return key[len(self._base) + len(":user:") + 1:key.rindex("}")]

    def delivery(self, openid: str, delivery_id: str) -> str:
        """The record of one inbound delivery: its processing status and cached reply."""
        return f"{self._user(openid)}:delivery:{_digest(delivery_id)}"

    def user_lock(self, openid: str) -> str:
        return f"{self._user(openid)}:lock"

    def user_queue(self, openid: str) -> str:
        """The user's messages waiting for the one being handled (encrypted; seconds-lived)."""
        return f"{self._user(openid)}:queue"

    def user_rate(self, openid: str) -> str:
        """How many messages the user sent in the current rate window."""
        return f"{self._user(openid)}:rate"

    def lock_retracted(self, openid: str, token: str) -> str:
        """Marks a lock token whose caller gave up waiting for Redis: it must take no lock."""
        return f"{self._user(openid)}:retracted:{token}"

    def conversation(self, openid: str) -> str:
        """The user's draft: "<rev>:<state>"."""
        return f"{self._user(openid)}:draft"

    def identity(self, openid: str) -> str:
        """The insured person an openid has proven to be (after verification)."""
        return f"{self._user(openid)}:identity"

    def pending_notices(self, openid: str) -> str:
        """Notices for a user who had unfollowed: shown with their next reply."""
        return f"{self._user(openid)}:notices"

    def user_limit(self, kind: str, openid: str, subject: str = "") -> str:
        """One window of the bot's own limits on a user (bot/binding/guard.py); `subject` narrows it
        (a person's digest), never a raw number."""
        return f"{self._user(openid)}:limit:{kind}" + (f":{_digest(subject)}" if subject else "")

    # -- one person's: {<ns>:person:<digest>} ------------------------------------------------------
    def _person(self, id_digest: str) -> str:
        return "{" + f"{self._base}:person:{_digest(id_digest)}" + "}"

    def person_openid(self, id_digest: str) -> str:
        """The openid a person (by their ID number's keyed digest) was linked from last."""
        return f"{self._person(id_digest)}:openid"

    def person_limit(self, kind: str, id_digest: str, subject: str = "") -> str:
        """One window of the bot's own limits on a person, whoever asks."""
        return f"{self._person(id_digest)}:limit:{kind}" + (f":{_digest(subject)}" if subject else "")

    # -- keys used alone ---------------------------------------------------------------------------
    def nonce(self, signature: str) -> str:
        """A plaintext delivery's signature (over its timestamp and nonce), bound to the body it came
        with. Keyed by the signature itself, not the pair: the signature hashes the parts joined,
        so another split of the same characters (a zero moved from the nonce to the timestamp)
        signs alike, and must find the same record."""
        return f"{self._base}:signed:{_digest(signature)}"

    def challenge(self, challenge_id: str) -> str:
        """Who a verification challenge was started for, whether it was sent, how often it was tried."""
        return f"{self._base}:challenge:{_digest(challenge_id)}"

    # -- the binding decisions: {<ns>:binding} -----------------------------------------------------
    def _binding(self) -> str:
        return "{" + f"{self._base}:binding" + "}"

    def decision_seen(self, fingerprint: str) -> str:
        return f"{self._binding()}:decided:{_digest(fingerprint)}"

    def decisions(self) -> str:
        """The stream of recorded decisions: the notification path reads it."""
        return f"{self._binding()}:decisions"

    def refused_decisions(self) -> str:
        """Callback decisions the bureau did not confirm, with why (capped, for operators)."""
        return f"{self._binding()}:refused"

    def pending_applications(self) -> str:
        return f"{self._binding()}:pending"

    def unclaimed_decisions(self, application_id: str) -> str:
        """Decisions that came before the bot knew whose application it was."""
        return f"{self._binding()}:unclaimed:{application_id}"

    def application_owner(self, application_id: str) -> str:
        return f"{self._binding()}:owner:{application_id}"

    def application_member(self, application_id: str) -> str:
        """Who an application's member is: the keyed digest of their ID number (never the number),
        for finding their openid through `person_openid` when the binding ends."""
        return f"{self._binding()}:member:{application_id}"

    def callback_nonce(self, nonce: str) -> str:
        return f"{self._base}:binding-nonce:{_digest(nonce)}"

    # The notification machinery's keys share one hash tag, `{<ns>:notify}`: every multi-key script
    # of bot/notify touches a single slot, as Redis Cluster requires (the decisions stream is the
    # binding side's, written with its keys: bot/binding/decisions.py).
    def _notify(self) -> str:
        return "{" + self._base + ":notify}"

    def notification(self, notification_id: str) -> str:
        """One notification's record: status, attempts, openid, decision, msgid, last error."""
        return f"{self._notify()}:{notification_id}"

    def notification_by_msgid(self, msgid: str) -> str:
        return f"{self._notify()}:msgid:{msgid}"

    def notification_claim(self, notification_id: str) -> str:
        """Held (with a lease) by the worker sending this notification now."""
        return f"{self._notify()}:claim:{notification_id}"

    def notification_retries(self) -> str:
        """Notifications whose next attempt waits: a sorted set scored by when it is due."""
        return f"{self._notify()}:retries"

    def notification_dead(self) -> str:
        """Dead letters (failed every attempt): a sorted set scored by when they died."""
        return f"{self._notify()}:dead"

    def notification_pause(self, api: str) -> str:
        """Sends through one WeChat API paused until its quota resets (45009, 45011): the time, the
        reason; it expires then."""
        return f"{self._notify()}:paused:{api}"

    def notification_workers(self) -> str:
        """The workers' heartbeats: `<host>:<pid>` scored by the time of its last beat."""
        return f"{self._notify()}:workers"

    def subscriptions(self, openid: str) -> str:
        """What one user said to the subscription notices (订阅通知): per template, accepted or
        refused, one-time sends left, WeChat's last receipt of a send. In the notification
        machinery's slot: the sender reads it beside the notification's record."""
        return f"{self._notify()}:subscribed:{openid}"

    def access_token(self) -> str:
        return f"{self._base}:wechat:access_token"

    def access_token_lock(self) -> str:
        return f"{self._base}:wechat:access_token:lock"

    def jsapi_ticket(self) -> str:
        """The JS-SDK's jsapi_ticket, which signs the subscribe page (bot/wechat/ticket.py)."""
        return f"{self._base}:wechat:jsapi_ticket"

    def jsapi_ticket_lock(self) -> str:
        return f"{self._base}:wechat:jsapi_ticket:lock"


def _digest(value: str) -> str:
    # Keys stay short and free of user-controlled characters whatever the input.
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def hash_tag(key: str) -> str:
    """The part of a key Redis Cluster hashes: the first {…} with something in it, else the key."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    return key[start + 1:end] if end > start + 1 else key
