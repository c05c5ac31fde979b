"""Push notifications: every recorded decision reaches its user exactly once, as a template
message or a subscription notice (订阅通知), sent by `wxbot worker` straight from the decisions
stream (a Redis consumer group).

records.py   the notification record per decision (status, attempts, msgid) as the webhook sees it,
             and the news kept for a user who had unfollowed
templates.py decision → template message (values ≤ 20 characters)
queue.py     the machinery in Redis: the consumer group, per-notification claims, retries, dead letters
send.py      one attempt: send once, schedule a retry of a transient error, park 43004 for the user
subscription.py  the channel a kind chooses, and a notification as a subscription notice (bizsend)
subscription_records.py  what each user subscribed to, from WeChat's events; spent by the sends
subscription_values.py   a notice's keyword types and the values each takes
runtime.py   what a worker sends with (Redis, WeChat, the binding service), pooled for its threads
worker.py    `wxbot worker`: the loop that reads, reclaims and acknowledges, and the sender threads
"""
