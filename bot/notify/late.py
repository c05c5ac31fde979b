"""Late answers: the reply to a message whose handler missed WeChat's 5-second deadline. The request
answered `success` (bot/webhook/processing.py); the answer goes out as a customer-service message
(`message/custom/send`) through the notification machinery — a record, a claim per attempt,
retries with backoff, dead letters with their reason, the metrics — as a notification of kind
`late_answer`.

The way in (`Outbox`, in the webhook process): once the handler has its answer and the reply's record
has kept what the message did, one script (bot/notify/queue.py `begin_late`) writes the answer's
record — its id the delivery's (`late_id`), so a delivery has one late answer at most — takes the
claim for the first attempt, and puts the record in the retries set, due when that claim's lease
(`notifications.reclaim_after`) runs out. The first attempt is made at once, on the same thread,
through the sender (bot/notify/send.py `Sender.settle`): the user gets the answer as soon as the
handler is done, with no worker in the way. Settled (sent, parked, dead), it leaves the retries set;
failed for now, its retry is due after `retry_intervals` like any notification's, and a worker's
loop takes it. Should the webhook process die in the attempt, the retry is due when its claim runs
out, and a worker takes it then.

What WeChat says (errors.py), read for a customer-service message (`LateAnswers.send`):
- 45015 (the user's window closed: 48 hours after a message, a minute after a click) and 45047 (the
  sends the window allows are used up), and 43004 (the user unfollowed): the answer waits for the
  user's next message, in front of its reply, like a parked notification;
- a transient error (-1, a 5xx, the network, the token): tried again with the backoff;
- a permanent one (48001 the account lacks the customer-service permission, 40003 …): a dead
  letter with its reason, after that one attempt.

The text is sealed at rest (bot/notify/sealed.py) and never logged; the record lets it go once it is
sent or parked.

Exactly once: the claim keeps two processes from sending one answer at once, and a settled answer is
never sent again. customer-service messages have no `client_msg_id`: an attempt whose answer was lost
(a timeout; a process killed inside the call) is tried again, and may reach the user twice — the
backoff's first interval later. A duplicate answer rather than none.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from bot import metrics
from bot.logs import log, user_ref
from bot.notify import errors
from bot.notify.errors import Failed
from bot.notify.queue import Begun, NotificationQueue
from bot.notify.records import NotificationRecords
from bot.store.rounds import Rounds
from flows.texts import notifications as t

if TYPE_CHECKING:
    from bot.notify.send import Sender

KIND = "late_answer"
CUSTOM_SEND = "message/custom/send"
UNFOLLOWED = errors.UNFOLLOWED
WINDOW_CLOSED, OVER_COUNT = 45015, 45047
PARKED_BY = frozenset({WINDOW_CLOSED, OVER_COUNT})
RECORD_TRIES = (0.0, 0.2, 1.0)   # pauses before each try to write the record while Redis does not answer
# After those, the answer is kept in this process and recorded once Redis answers again (a failover:
# seconds to a minute), for this long at most: a customer-service window lasts 48 hours, a process
# not so surely.
KEPT_FOR_REDIS = 600.0
KEPT_MAX = 10_000                 # answers kept so in one process at most (the oldest are let go)

# The sender's one way to WeChat (bot/notify/send.py `Sender._post`), as in subscription.py.
Post = Callable[..., dict | None]


def late_id(delivery_key: str) -> str:
    """A late answer's notification id: its delivery's, hashed (`notify-late…` in the dead letters)."""
    return "late" + hashlib.sha256(delivery_key.encode()).hexdigest()[:24]


class LateAnswers:
    """The sender's side: one attempt at a late answer (`Sender._send` hands it the record)."""

    def __init__(self, queue: NotificationQueue, records: NotificationRecords, post: Post) -> None:
        self.queue, self.records, self.post = queue, records, post

    def send(self, notification_id: str, begun: Begun) -> str | None:
        """'' when WeChat took it; None when it waits for the user's next message. Failed otherwise."""
        if self.records.seal is None:
            raise RuntimeError("late answers need NotificationRecords with a Seal")
        text = self.records.seal.open(begun.text, notification_id)
        if text is None:
            raise Failed(errors.of_unreadable())
        body = {"touser": begun.openid, "msgtype": "text", "text": {"content": text}}
        try:
            result = self.post(CUSTOM_SEND, body, template="", fields={})
        except Failed as failed:
            if failed.errcode not in PARKED_BY:
                raise
            why = failed.failure.reason
        else:
            if result is not None:
                self.queue.sent(notification_id, begun.token, "")
                return ""
            why = f"{UNFOLLOWED}: the user does not follow the account"
        log.info("late_reply_parked", notification_id=notification_id, user_ref=user_ref(begun.openid), reason=why)
        self.records.park_for_user(notification_id, begun.openid, t.LATE_ANSWER.format(answer=text), sealed=True)
        self.queue.parked(notification_id, begun.token)
        return None


class Outbox:
    """The webhook's side: a late answer recorded, then its first attempt on the calling thread."""

    def __init__(self, queue: NotificationQueue, sender: Sender) -> None:
        self.queue, self.sender = queue, sender
        self.seal = sender.records.seal
        # id -> (openid, sealed, give up at)
        self._waiting: Rounds[str, tuple[str, str, float]] = Rounds("wxbot-late-answers", 1.0, self._recorded)

    def send(self, delivery_key: str, openid: str, text: str) -> None:
        notification_id = late_id(delivery_key)
        sealed = self.seal.seal(text, notification_id)
        begun = self._record(notification_id, openid, sealed)
        if begun is None:
            self._keep(notification_id, openid, sealed)
            return
        self._attempt(notification_id, openid, begun)

    def _attempt(self, notification_id: str, openid: str, begun: Begun) -> None:
        if begun.outcome != "go":
            # Recorded by an earlier call whose answer Redis lost: its claim runs out, a worker sends it.
            log.info("late_reply_recorded_before", notification_id=notification_id, user_ref=user_ref(openid))
            return
        try:
            self.sender.settle(notification_id, begun)
        except redis.RedisError as exc:
            # Nothing settled: the claim's lease runs out and a worker tries again.
            log.warning("late_reply_redis_unavailable", notification_id=notification_id, user_ref=user_ref(openid),
                        error=type(exc).__name__)

    def _keep(self, notification_id: str, openid: str, sealed: str) -> None:
        """Redis did not answer: the answer (sealed) waits in this process, recorded by a thread of
        its own as soon as Redis answers again."""
        log.warning("late_reply_waiting_for_redis", notification_id=notification_id, user_ref=user_ref(openid))
        dropped = self._waiting.put(notification_id, (openid, sealed, time.monotonic() + KEPT_FOR_REDIS),
                                    most=KEPT_MAX)
        if dropped:
            self._let_go(dropped[0], dropped[1][0])

    def _recorded(self, notification_id: str, waiting: tuple[str, str, float]) -> bool:
        """Done once recorded (then its first attempt), or let go after KEPT_FOR_REDIS."""
        openid, sealed, give_up_at = waiting
        try:
            begun = self.queue.begin_late(notification_id, openid, KIND, sealed)
        except redis.RedisError:
            if time.monotonic() <= give_up_at:
                return False
            self._let_go(notification_id, openid)
            return True
        self._attempt(notification_id, openid, begun)
        return True

    def _let_go(self, notification_id: str, openid: str) -> None:
        log.error("late_reply_unrecorded", notification_id=notification_id, user_ref=user_ref(openid))
        metrics.late_reply("unrecorded")

    def _record(self, notification_id: str, openid: str, sealed: str) -> Begun | None:
        """The record and the first attempt's claim; None when Redis did not answer, try after
        try. A try whose answer was lost made the record all the same: the next finds it."""
        for pause in RECORD_TRIES:
            time.sleep(pause)
            try:
                return self.queue.begin_late(notification_id, openid, KIND, sealed)
            except redis.RedisError:
                continue
        return None
