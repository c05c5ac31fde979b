"""python -m bench.seed REDIS_URL PREFIX COUNT: users PREFIX0…, verified and at the binding flow's
relationship question — run by the code of the tree it is started in (so that an earlier
revision, served for comparison, finds its users in its own record format)."""

from __future__ import annotations

import sys

from bench import world

if __name__ == "__main__":
    redis_url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    world.Seeder(world.settings_for(redis_url, log={"level": "WARNING"})).users(prefix, count)
