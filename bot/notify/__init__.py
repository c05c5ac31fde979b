"""Push notifications: every recorded decision reaches its user exactly once, as a template
message sent by `wxbot worker` straight from the decisions stream (a Redis consumer group).

records.py   the notification record per decision (status, attempts, msgid) as the webhook sees it,
             and the news kept for a user who had unfollowed
templates.py decision → template message, each value fitted to its keyword; the start-up check
keywords.py  WeChat's keyword types (thing, phrase, time …): what each takes
queue.py     the machinery in Redis: the consumer group, per-notification claims, retries, dead letters,
             pauses for WeChat's quota, trimming the stream
send.py      one attempt: send once, then settle it as errors.py classifies a failure; park 43004 for the user
errors.py    WeChat's error codes by kind (permanent, quota, rate, token, transient), with reasons
runtime.py   what a worker sends with (Redis, WeChat, the binding service), pooled for its threads
worker.py    `wxbot worker`: the loop that reads, reclaims and acknowledges, and the sender threads
"""
