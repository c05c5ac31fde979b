"""Push notifications: every recorded decision reaches its user exactly once, as a template
message sent by `wxbot worker` from a Redis-backed job queue (RQ).

records.py   the notification record per decision (status, attempts, msgid) and pending notices
templates.py decision → template message (values ≤ 20 characters)
dispatch.py  decisions stream → records + jobs (a consumer group: nothing lost while no worker runs)
jobs.py      the job: send once, retry transient errors, park 43004 for the user's next visit
worker.py    `wxbot worker`: RQ worker with its scheduler, plus the dispatcher
"""
