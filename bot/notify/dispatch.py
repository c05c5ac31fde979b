"""From the decisions stream to notification jobs.

The stream is read through a consumer group: an entry is acknowledged only after its
notification record and job exist, so a dispatcher that dies in between leaves the entry pending
and it is claimed again. Nothing is lost while no worker runs: the entries wait in the stream.
"""

from __future__ import annotations

import socket

import redis
from rq import Queue, Retry
from rq.job import Job, JobStatus

from bot.config import Settings
from bot.logs import log
from bot.notify.records import QUEUED, NotificationRecords
from bot.store.keys import Keys

GROUP = "notify"
JOB = "bot.notify.jobs.send_notification"
FAILED_TTL = 90 * 24 * 3600


def job_id(notification_id: str) -> str:
    return f"notify-{notification_id}"


class Dispatcher:
    def __init__(self, client: redis.Redis, settings: Settings, consumer: str | None = None) -> None:
        self.redis, self.settings = client, settings
        self.keys = Keys.of(settings)
        self.records = NotificationRecords(client, self.keys)
        self.queue = Queue(settings.notifications.queue, connection=client)
        self.stream = self.keys.decisions()
        self.consumer = consumer or socket.gethostname()
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def run_once(self, block_ms: int = 0) -> int:
        """Dispatch what waits; returns how many notifications were queued."""
        self._ensure_group()
        # Entries another dispatcher took but never acknowledged (it died): take them over.
        _, reclaimed, *_ = self.redis.xautoclaim(self.stream, GROUP, self.consumer, min_idle_time=30_000,
                                                 start_id="0-0", count=50)
        fresh = self.redis.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=50,
                                      block=block_ms or None)
        entries = list(reclaimed) + [entry for _, batch in fresh for entry in batch]
        queued = 0
        for entry_id, fields in entries:
            queued += self._dispatch(entry_id.decode(), fields)
            self.redis.xack(self.stream, GROUP, entry_id)
        return queued

    def _dispatch(self, entry_id: str, fields: dict[bytes, bytes]) -> int:
        openid = fields.get(b"openid", b"").decode()
        if not openid:
            log.warning("decision_without_owner", entry_id=entry_id)  # not submitted through this bot
            return 0
        notification_id = entry_id.replace("-", "")
        created = self.records.create(notification_id, openid, fields[b"decision"].decode())
        record = self.records.get(notification_id) or {}
        if not created and (record.get("status") != QUEUED or self._job_waiting(notification_id)):
            return 0  # already handled, or its job is still queued or running
        self.enqueue(notification_id)
        return 1

    def _job_waiting(self, notification_id: str) -> bool:
        job = Job.fetch(job_id(notification_id), connection=self.redis) if Job.exists(
            job_id(notification_id), connection=self.redis) else None
        return job is not None and job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED,
                                                        JobStatus.SCHEDULED, JobStatus.DEFERRED)

    def enqueue(self, notification_id: str) -> None:
        settings = self.settings.notifications
        retries = settings.max_attempts - 1
        self.queue.enqueue(JOB, notification_id, job_id=job_id(notification_id), failure_ttl=FAILED_TTL,
                           job_timeout=60, retry=Retry(max=retries, interval=settings.retry_intervals)
                           if retries else None)
