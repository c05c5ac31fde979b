"""Push notifications: every recorded decision reaches its user exactly once, as a template
message sent by `wxbot worker` straight from the decisions stream (a Redis consumer group).

records.py   the notification record per decision (status, attempts, msgid) as the webhook sees it,
             and the news kept for a user who had unfollowed
templates.py decision → template message (values ≤ 20 characters)
queue.py     the machinery in Redis: the consumer group, per-notification claims, retries, dead letters
send.py      one attempt: send once, schedule a retry of a transient error, park 43004 for the user
runtime.py   what a worker sends with (Redis, WeChat, the binding service), pooled for its threads
worker.py    `wxbot worker`: the loop that reads, reclaims and acknowledges, and the sender threads
"""
