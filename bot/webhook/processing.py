"""Process one admitted delivery: the user's lock, the handler, the reply — within the deadline.

A step that can only answer from memory runs on the request thread (`_inline`): the user's
records came with the admission, the draft it leaves is written by the reply's record, and
nothing else leaves the process. Which steps those are is not guessed beforehand: the attempt
runs, and whatever would leave the process — the binding service, Redis beyond the message's
session — stops it first (bot/store/session.py `calling_out` raises `HandOver`). Nothing of the
attempt has left the process then, so it is dropped, and the message is handled again from the
records as admitted, on a handler thread. A message with notices waiting (they are read from
Redis) goes to a handler thread at once; so does every message when too little of the deadline
is left for the reply's record at its slowest (`inline_floor`: Redis' timeouts).

On a handler thread, the request thread waits for it until shortly before the deadline; if it is
not done by then the request answers `success`, and when the handler finishes its answer is sent
as a customer-service message instead — recorded first, then sent, through the notification
machinery (bot/notify/late.py: retries, dead letters, and the user's next reply when WeChat
refuses it for its window). Which of the two happens is decided in this process,
under one lock (`Handoff`), so it needs no Redis call at the deadline: a slow Redis or bureau
cannot push the reply past WeChat's 5 seconds, nor lose the answer. The Redis ledger only tells
WeChat's retries, in whatever process they land, what the first copy did.

A message that arrives while the user's previous one holds their lock waits in the user's queue
(ledger.py); the handler thread that holds the lock processes the queued messages one after the
other when it is done, wherever their requests are. Those requests wait for the reply's record
instead (`_await`), and there the decision is made in Redis: FINISH records the reply only while
the request still waits, GIVE_UP at the request's deadline takes it or marks the delivery deferred.
A message over the user's rate or queue length is not processed: it is answered at once (`_limited`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from bot import metrics
from bot.conversations.store import StaleConversation
from bot.logs import log, user_ref
from bot.store.ledger import Admission, DeliveryLedger, Finished, Work
from bot.store.session import HandOver, Session
from bot.webhook.envelope import Envelope, EnvelopeCodec
from bot.webhook.inbound import parse_inbound
from bot.webhook.queued import QueueCodec
from bot.webhook.replies import render
from flows.texts import apologies
from handlers.inbound import Inbound
from handlers.reply import NoReply, Reply, Text

# (the message, its session: the user's records read under their lock, or None) -> the reply
Route = Callable[[Inbound, Session | None], Reply]
# (the delivery's ledger key, openid, content): the answer after the deadline, recorded and sent
# (bot/notify/late.py Outbox.send); one per delivery, however often it is called.
SendLate = Callable[[str, str, str], None]


# Stop waiting this long before the deadline: the reply still has to be encrypted and sent.
SAFETY_MARGIN = 0.3


@dataclass
class UserLock:
    """The user's lock for one message (None: not held) and the records read under it."""
    token: str | None
    records: Session | None


@dataclass(frozen=True)
class Answer:
    """What the user gets: the reply, its body as sent (rendered, sealed), and what it is, for
    the metrics: reply | busy (系统繁忙: Redis, or the draft changed under the message) | error."""
    reply: Reply
    body: str
    outcome: str = "reply"


@dataclass
class Handoff:
    """Between the request thread and the handler thread: who delivers the answer."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    body: str | None = None
    outcome: str = "reply"   # what the user got, for metrics: reply | busy | error
    abandoned: bool = False

    def deliver(self, body: str, outcome: str = "reply") -> bool:
        """The handler's side: True when the waiting request will carry `body`."""
        with self.lock:
            if self.abandoned:
                return False
            self.body, self.outcome = body, outcome
        self.done.set()
        return True

    def abandon(self) -> str | None:
        """The request's side at the deadline: the body if it just arrived, else None (and the
        handler will send its answer later)."""
        with self.lock:
            if self.body is None:
                self.abandoned = True
            return self.body


@dataclass
class Processor:
    ledger: DeliveryLedger
    codec: EnvelopeCodec
    queue_codec: QueueCodec
    route: Route
    send_late: SendLate
    threads: int
    needs_user_lock: Callable[[Inbound], bool] = lambda inbound: True
    # The route calls bot.store.session.calling_out(session) before anything that leaves the process, so
    # that its steps may be tried on the request thread (a route that does not, never is).
    inline: bool = False
    # The longest the reply's record may take on the request thread (a health check, the call and
    # one reconnect, each within Redis' socket timeout): with less of the deadline left after the
    # admission, the step goes to a handler thread.
    inline_floor: float = 4.0

    def __post_init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        # Created on first use, so that it is born in the (forked) worker process that uses it.
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wxbot-handler")
            return self._pool

    def queue_entry(self, delivery_key: str, envelope: Envelope) -> str:
        """What the user's lock holder needs to process this message, should it have to wait."""
        return self.queue_codec.pack(delivery_key, envelope)

    def reply_within(self, inbound: Inbound, envelope: Envelope, admission: Admission,
                     budget: float) -> tuple[str, str]:
        """The body to answer with, and what it is (reply | busy | error | limited | success)."""
        deadline = time.monotonic() + budget - SAFETY_MARGIN
        if admission.limited:
            return self._limited(inbound, envelope, admission)
        if admission.queued:
            if admission.work is not None:
                self.pool.submit(self._work, admission.work)
            return self._await(inbound, admission.delivery_key, budget)
        if self._fits_inline(admission, budget):
            answered = self._inline(inbound, envelope, admission)
            if answered is not None:
                return answered
        handoff = Handoff()
        self.pool.submit(self._process, inbound, envelope, admission, handoff)
        if handoff.done.wait(timeout=max(0.0, deadline - time.monotonic())):
            return handoff.body, handoff.outcome
        body = handoff.abandon()
        if body is not None:
            return body, handoff.outcome
        self._fell_back(inbound)
        try:
            self.ledger.give_up(admission.delivery_key)  # so that retries elsewhere answer `success` too
        except redis.RedisError:
            pass  # the answer is on its way by customer-service message all the same
        return "success", "success"

    def _fits_inline(self, admission: Admission, budget: float) -> bool:
        records = admission.records
        return (self.inline and admission.lock_token is not None and records is not None
                and not records.waiting_notices and budget - SAFETY_MARGIN >= self.inline_floor)

    def _inline(self, inbound: Inbound, envelope: Envelope, admission: Admission) -> tuple[str, str] | None:
        """The step on the request thread; None when it was handed over before anything left
        the process (the admitted records are untouched: the attempt worked on a copy)."""
        started = time.monotonic()
        lock = UserLock(admission.lock_token, admission.records.attempt())
        try:
            answer = self._answer(inbound, envelope, lock)
        except HandOver:
            return None
        answer, finished = self._record(inbound, envelope, admission.delivery_key, lock, answer)
        self._processed(inbound, started)
        if finished is not None and finished.work is not None:
            self.pool.submit(self._work, finished.work)   # the user's next messages: a handler thread's
        return answer.body, answer.outcome

    def _limited(self, inbound: Inbound, envelope: Envelope, admission: Admission) -> tuple[str, str]:
        """Over the user's rate or queue: not processed; the reply says so, and when to send again.
        It is the delivery's reply, for WeChat's retries too."""
        text = (apologies.TOO_FAST.format(seconds=admission.retry_after) if admission.limited == "rate"
                else apologies.TOO_MANY_WAITING)
        body = self.codec.seal(render(Text(text), inbound), envelope)
        log.info("user_limited", user_ref=user_ref(inbound.openid), reason=admission.limited)
        metrics.user_limited(admission.limited)
        try:
            self.ledger.finish(admission.delivery_key, body)
        except redis.RedisError:
            log.warning("ledger_unavailable", user_ref=user_ref(inbound.openid))
        return body, "limited"

    def _await(self, inbound: Inbound, delivery_key: str, budget: float) -> tuple[str, str]:
        """A queued message's request: its reply, recorded by whichever thread holds the user's lock
        when its turn comes, if that is within the deadline; else `success`, and that thread sends
        the answer. A queue whose holder's lock expired (it crashed) is taken over from here."""
        deadline = time.monotonic() + budget - SAFETY_MARGIN
        pause = 0.01
        while True:
            try:
                status, body, work = self.ledger.poll(delivery_key, inbound.openid)
            except redis.RedisError:
                status, body, work = "queued", "", None   # the deadline decides
            if work is not None:
                self.pool.submit(self._work, work)
            if status == "done":
                return body, "success" if body == "success" else "reply"
            if status != "queued" or time.monotonic() + pause > deadline:
                break   # not `queued`: given up already, or expired; nothing more will come
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        try:
            body = self.ledger.give_up(delivery_key)
        except redis.RedisError:
            body = None   # its time is over (`until`): the holder will send the answer
        if body is not None:
            return body, "success" if body == "success" else "reply"
        self._fell_back(inbound)
        return "success", "success"

    def _fell_back(self, inbound: Inbound) -> None:
        log.info("deadline_fallback", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
        metrics.deadline_fallback()

    @metrics.HANDLERS_BUSY.track_inprogress()
    def _process(self, inbound: Inbound, envelope: Envelope, admission: Admission, handoff: Handoff) -> str:
        started = time.monotonic()
        lock = UserLock(admission.lock_token, admission.records)
        with self.ledger.leases.held(admission.delivery_key, inbound.openid, admission.lock_token):
            answer = self._answer(inbound, envelope, lock)
        # All this thread's Redis work and logging come before the request is woken: the two
        # threads then never run at once, which would cost both of them GIL hand-overs.
        abandoned = handoff.abandoned   # a hint; settled below if it changes
        answer, finished = self._record(inbound, envelope, admission.delivery_key, lock, answer, abandoned)
        self._processed(inbound, started)
        if not handoff.deliver(answer.body, answer.outcome):
            # The lock, handed on to the user's next message under this token, is kept meanwhile.
            with self.ledger.leases.held(admission.delivery_key, inbound.openid, admission.lock_token):
                self._answer_late(inbound, admission, answer.reply, recorded_success=abandoned)
        if finished is not None and finished.work is not None:
            self._drain(finished.work)   # the user's messages that queued up meanwhile, in order
        return answer.body

    def _record(self, inbound: Inbound, envelope: Envelope, delivery_key: str, lock: UserLock, answer: Answer,
                abandoned: bool = False, queued: bool = False) -> tuple[Answer, Finished | None]:
        """The reply's record: with the draft the message left (revision-checked), and the lock's
        release or hand-over to the user's next queued message. A draft that another writer
        changed since the admission read it (a holder whose lock had expired) is not written:
        nothing of this message is kept, and the user is asked to say it again (系统繁忙). None
        for the record when Redis failed."""
        session = lock.records
        draft = session.draft if session is not None else None
        try:
            finished = self.ledger.finish(delivery_key, "success" if abandoned else answer.body, inbound.openid,
                                          lock.token, queued=queued, draft=draft)
            if finished.stale:
                log.warning("conversation_stale", user_ref=user_ref(inbound.openid))
                answer = self._apology(inbound, envelope, _with_notices(session, apologies.BUSY), "busy")
                finished = self.ledger.finish(delivery_key, "success" if abandoned else answer.body, inbound.openid,
                                              lock.token, queued=queued)
            elif session is not None:
                session.saved()
        except redis.RedisError:
            # The lock is taken back when Redis answers; the retries find the delivery pending, then expired.
            log.warning("ledger_unavailable", user_ref=user_ref(inbound.openid))
            if draft is not None:   # whether the step was kept is unknown: the user says it again
                answer = self._apology(inbound, envelope, _with_notices(session, apologies.BUSY), "busy")
            return answer, None
        if finished.lock_expired:
            log.warning("user_lock_expired", user_ref=user_ref(inbound.openid))
        return answer, finished

    def _processed(self, inbound: Inbound, started: float, **extra: float) -> None:
        log.info("processed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type,
                 wx_event=inbound.event or None, duration_ms=round((time.monotonic() - started) * 1000, 1), **extra)

    @metrics.HANDLERS_BUSY.track_inprogress()
    def _work(self, work: Work) -> None:
        self._drain(work)

    def _drain(self, work: Work | None) -> None:
        """Process the user's queued messages one after the other, for as long as each one's
        FINISH hands the lock to another."""
        while work is not None:
            try:
                work = self._process_queued(work)
            except Exception:  # noqa: BLE001 - a bug: the lock expires, the user's next message takes over
                log.exception("handler_failed", user_ref=user_ref(work.openid), msg_type="queued")
                return

    def _process_queued(self, work: Work) -> Work | None:
        started = time.monotonic()
        message = self.queue_codec.unpack(work.entry)
        waited = max(0.0, time.time() - message.queued_at)
        metrics.queue_waited(waited)
        if message.envelope is None:   # sealed with another key (rotated meanwhile): skipped
            log.warning("queued_message_unreadable", user_ref=user_ref(work.openid))
            try:
                finished = self.ledger.finish(message.delivery_key, "success", work.openid, work.lock_token,
                                              queued=True)
            except redis.RedisError:
                log.warning("ledger_unavailable", user_ref=user_ref(work.openid))
                return None
            return finished.work
        inbound = parse_inbound(message.envelope.xml)   # it was parsed once already, at admission: no Rejected
        lock = UserLock(work.lock_token, work.records)
        with self.ledger.leases.held(message.delivery_key, work.openid, work.lock_token):
            answer = self._answer(inbound, message.envelope, lock)
        answer, finished = self._record(inbound, message.envelope, message.delivery_key, lock, answer, queued=True)
        self._processed(inbound, started, waited_ms=round(waited * 1000, 1))
        # Redis failed: whether its request got the reply is unknown; better twice than never. The
        # lock is taken back when Redis answers, and the queue by the user's next message.
        finished = finished or Finished(late=True)
        if finished.late and isinstance(answer.reply, Text):
            with self.ledger.leases.held(message.delivery_key, work.openid, work.lock_token):
                self._send_late(inbound, message.delivery_key, answer.reply)
        return finished.work

    def _answer(self, inbound: Inbound, envelope: Envelope, lock: UserLock) -> Answer:
        try:
            reply, outcome = self._handle(inbound, lock)
            return Answer(reply, self.codec.seal(render(reply, inbound), envelope), outcome)
        except Exception:  # noqa: BLE001 - rendering failed: still answer, never leave the request hanging
            log.exception("render_failed", user_ref=user_ref(inbound.openid))
            return self._apology(inbound, envelope, apologies.ERROR, "error")

    def _apology(self, inbound: Inbound, envelope: Envelope, text: str, outcome: str) -> Answer:
        reply = Text(text)
        return Answer(reply, self.codec.seal(render(reply, inbound), envelope), outcome)

    def _answer_late(self, inbound: Inbound, admission: Admission, reply: Reply, recorded_success: bool) -> None:
        """The request answered `success` at its deadline: WeChat's retries must get `success`
        too, and the answer goes out as a customer-service message."""
        if not recorded_success:
            try:
                self.ledger.finish(admission.delivery_key, "success")
            except redis.RedisError:
                log.warning("ledger_unavailable", user_ref=user_ref(inbound.openid))
        if isinstance(reply, Text):
            self._send_late(inbound, admission.delivery_key, reply)

    def _handle(self, inbound: Inbound, lock: UserLock) -> tuple[Reply, str]:
        """The reply, and what it is (reply | busy | error)."""
        if lock.token is None:
            # The message needs no lock (decided once, at admission): nobody's conversation.
            return self._unlocked(inbound), "reply"
        try:
            # Under the user's lock, taken at admission or handed over by their previous message;
            # it expires by itself, so a crashed worker blocks the user no longer than its TTL.
            return self.route(inbound, lock.records), "reply"
        except redis.RedisError:
            log.warning("handler_unavailable", user_ref=user_ref(inbound.openid), exc_info=True)
            return Text(apologies.BUSY), "busy"
        except StaleConversation:
            # Another writer saved the draft first (its lock had expired): nothing of this message
            # was kept; the user says it again.
            log.warning("conversation_stale", user_ref=user_ref(inbound.openid))
            return Text(apologies.BUSY), "busy"
        except Exception:  # noqa: BLE001 - the user must get an answer whatever a handler does
            log.exception("handler_failed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
            return Text(apologies.ERROR), "error"

    def _unlocked(self, inbound: Inbound) -> Reply:
        try:
            return self.route(inbound, None)
        except Exception:  # noqa: BLE001 - an acknowledgement must not fail
            log.exception("handler_failed", user_ref=user_ref(inbound.openid), msg_type=inbound.msg_type)
            return NoReply()

    def _send_late(self, inbound: Inbound, delivery_key: str, reply: Text) -> None:
        """The answer after the deadline: recorded, then its first attempt on this thread (its
        retries, if any, are a worker's). After the reply's record: it is the answer that was kept."""
        try:
            self.send_late(delivery_key, inbound.openid, reply.content)
        except Exception as exc:  # noqa: BLE001 - logged by type only: the error may echo the token URL
            log.error("late_reply_failed", user_ref=user_ref(inbound.openid), error=type(exc).__name__)


def _with_notices(session: Session | None, text: str) -> str:
    """An apology in place of a reply still shows the notices the reply was to carry: they were
    taken from Redis for it (a parked notification, a late answer), and would be lost."""
    taken = session.taken_notices if session is not None else []
    return "\n\n".join([*taken, text])
