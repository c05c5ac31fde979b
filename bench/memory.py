"""Redis memory per idle conversation: many users who stopped halfway through a binding (the
relationship, the member's name and ID number given), as the product stores them."""

from __future__ import annotations

import redis

from bench import world
from flows.engine import UserText

SPOUSE = ("李秀英", "330106196408220224")


def measure(redis_url: str, seeder: world.Seeder, count: int) -> dict[str, float]:
    client = redis.Redis.from_url(redis_url)
    conversations = seeder.conversations
    template = "o_memory_template"
    seeder.at_relationship_question(template)
    for answer in ("配偶", *SPOUSE):
        conversations.handle(template, UserText(answer))
    draft, _ = conversations.store.load(template)
    client.flushall()
    before = client.info("memory")["used_memory"]
    for n in range(count):
        conversations.store.save(f"o_idle_{n:06d}", draft, 0)  # each encrypted afresh, as in use
    after = client.info("memory")["used_memory"]
    sample = client.memory_usage(conversations.store.keys.conversation("o_idle_000000"))
    state = len(client.get(conversations.store.keys.conversation("o_idle_000000")))
    for n in range(count):
        seeder.verified(f"o_idle_{n:06d}")  # what a verified user costs besides the draft
    with_identity = client.info("memory")["used_memory"]
    client.flushall()
    result = {"count": count, "step": draft.step, "bytes_per_conversation": (after - before) / count,
              "memory_usage_sample": sample, "state_bytes": state,
              "bytes_per_identity": (with_identity - after) / count}
    print(f"  {result['bytes_per_conversation']:.0f} bytes per idle conversation "
          f"(state {state} bytes; identity {result['bytes_per_identity']:.0f} bytes)", flush=True)
    return result
