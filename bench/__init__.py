"""`make bench`: the webhook measured side by side with a bare Flask + wechatpy echo and WeRoBot,
plus Redis round trips, memory per idle conversation and notification throughput."""
