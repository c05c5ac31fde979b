"""One time zone, stated (issue 16, point 5): every time a user reads and every date the rules use
are the region's (`region.timezone`, Asia/Shanghai by default), whatever zone the machine runs in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import pytest

from bot.config import ConfigError, load_settings
from tests.support.chat import CODE
from tests.support.processes import ROOT, settings_env

# 2026-03-14 16:30 UTC is already 03-15 00:30 in Beijing: a machine's own zone would show another day.
AT = datetime(2026, 3, 14, 16, 30, tzinfo=UTC).timestamp()
# Zones 24 hours apart: at any moment at least one of them is on another date than Beijing.
ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Honolulu")


def run_at(make_settings, zone: str) -> dict:
    settings = make_settings(binding={"sandbox": {"verification_code": CODE}},
                             redis={"key_prefix": f"zone{uuid.uuid4().hex[:8]}"})
    env = {**os.environ, **settings_env(settings), "TZ": zone, "ZONE_RUN_AT": str(AT)}
    result = subprocess.run([sys.executable, "-m", "tests.support.zone_run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # The consent code is random in every run; everything else must be the same.
    return json.loads(re.sub(r"\b[0-9A-F]{6}\b", "CODE", result.stdout.splitlines()[-1]))


def test_the_same_texts_whatever_zone_the_machine_is_in(make_settings) -> None:
    runs = {zone: run_at(make_settings, zone) for zone in ZONES}
    assert runs["UTC"] == runs["Pacific/Kiritimati"] == runs["Pacific/Honolulu"]
    replies, card = runs["UTC"]["replies"], runs["UTC"]["card"]
    submitted, progress = replies[8], replies[9]
    # The member has 24 hours to consent: until 03-16 00:30 Beijing time.
    assert "03月16日 00:30" in submitted and "03月16日 00:30" in progress, submitted
    assert card["time4"]["value"] == "2026-03-15 00:30"


def context_at(now: float, **region: str):
    from types import SimpleNamespace

    from handlers.conversation import Conversations

    settings = load_settings(None, wechat={"appid": "wx1", "token": "tok123"}, region=region,
                             conversation={"secret_key": "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="})
    identities = SimpleNamespace(digest=lambda id_number: "")
    return Conversations(None, identities, None, None, settings)._context(None, now)


def test_ages_are_the_regions_on_the_regions_day() -> None:
    """A birthday is reached at midnight in the region, not at the machine's midnight."""
    from flows.domain.identity import parse_id_number

    born_2010_03_15 = parse_id_number("330106201003150014", date(2026, 1, 1))
    in_beijing = context_at(AT)                       # 03-15 00:30 there, 03-14 16:30 in UTC
    assert in_beijing.today == date(2026, 3, 15) and born_2010_03_15.age_on(in_beijing.today) == 16
    in_los_angeles = context_at(AT, timezone="America/Los_Angeles")
    assert in_los_angeles.today == date(2026, 3, 14) and born_2010_03_15.age_on(in_los_angeles.today) == 15


@pytest.mark.parametrize("name", ["Beijing", "Asia/Shanghia", "UTC+8", ""])
def test_a_zone_that_is_not_one_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^config: region\.timezone: not a time zone name"):
        load_settings(None, wechat={"appid": "wx1", "token": "tok123"}, region={"timezone": name},
                      conversation={"secret_key": "dGVzdC1jb252ZXJzYXRpb24ta2V5LTMyLWJ5dGVzISE="})
