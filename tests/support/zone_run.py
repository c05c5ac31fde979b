"""One scripted conversation at a fixed moment, its replies printed as JSON: run by
tests/test_time_zone.py in child processes under different TZ settings, which must not matter.

    python -m tests.support.zone_run   (settings from WXBOT_…; ZONE_RUN_AT: the moment, Unix time)
"""

from __future__ import annotations

import json
import os
import time

# The moment, frozen before the product is imported: its clocks take time.time as they load.
_real, _started, _at = time.time, time.time(), float(os.environ["ZONE_RUN_AT"])
time.time = lambda: _at + (_real() - _started)

def main() -> None:
    # The product is imported only now, after the clock is set.
    from datetime import UTC, datetime

    from bot.app import create_app
    from bot.binding.models import Decision
    from bot.config import load_settings
    from bot.notify import templates
    from bot.simulator.wechat_side import WeChatSide
    from tests.support.binding import person
    from tests.support.chat import CODE
    from tests.support.webhook import Webhook

    settings = load_settings()
    webhook = Webhook(create_app(settings), WeChatSide(settings.wechat))
    me, wife = person("王建国"), person("李秀英")
    said = ["绑定家人", me.name, me.id_number, CODE, "老伴", wife.name, wife.id_number, "同意", "确认", "办理进度",
            "我的家人"]
    replies = [webhook.say(text, openid="o_zone")["Content"] for text in said]
    decided = Decision(event_id="e1", kind="application.decided", application_id="A1", status="approved",
                       decided_at=datetime.fromtimestamp(time.time(), UTC))
    card = templates.payload("o_zone", "n1", decided, None, settings.notifications, settings.region.zone)
    print(json.dumps({"replies": replies, "card": card["data"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
