"""Push notifications: every recorded decision reaches its user exactly once, as a template
message or a subscription notice (订阅通知), sent by `wxbot worker` straight from the decisions
stream (a Redis consumer group); and every answer after the webhook's deadline, as a
customer-service message, through the same records, claims, retries and dead letters.

records.py   the notification record per decision (status, attempts, msgid) as the webhook sees it,
             and the news kept for a user who had unfollowed
templates.py decision → template message, each value fitted to its keyword; the start-up check of
             every keyword (template messages' and subscription notices')
keywords.py  WeChat's keyword types (thing, phrase, time …): what each takes, with or without the
             template messages' 20-character cap
queue.py     the machinery in Redis: the consumer group, per-notification claims, retries, dead letters,
             pauses for WeChat's quota (per API), trimming the stream
send.py      one attempt: the kind's channel, then one call through `_post` (template/send or bizsend),
             settled as errors.py classifies a failure; park 43004 for the user
subscription.py  the channel a kind chooses, and a notification as a subscription notice (bizsend):
             43101 and 47003 read per channel, exactly once by WeChat's receipts
subscription_records.py  what each user subscribed to, from WeChat's events; spent by the sends
late.py      an answer after the webhook's deadline: recorded and first sent by the webhook
             (Outbox), retried by the workers (LateAnswers); 45015/45047 park it for the next reply
sealed.py    a late answer's text, encrypted at rest
errors.py    WeChat's error codes by kind (permanent, quota, rate, token, transient), with reasons
runtime.py   what a worker sends with (Redis, WeChat, the binding service), pooled for its threads
worker.py    `wxbot worker`: the loop that reads, reclaims and acknowledges, and the sender threads
"""
