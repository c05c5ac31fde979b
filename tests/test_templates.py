"""A decision as WeChat's template message body: the card's jump (a page, or a mini program page)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.binding.models import Decision
from bot.config import NotificationSettings
from bot.notify import templates

DECIDED = Decision(event_id="e1", kind="application.decided", application_id="A1", status="approved",
                   decided_at=datetime(2026, 3, 14, 16, 30, tzinfo=UTC))


def test_a_card_opens_a_mini_program_page_with_the_link_as_fallback() -> None:
    settings = NotificationSettings(link="https://example.gov.cn/progress",
                                    miniprogram={"appid": "wx1234567890abcdef", "pagepath": "pages/progress/index?from=card"})
    body = templates.payload("o1", "n1", DECIDED, None, settings)
    assert body["miniprogram"] == {"appid": "wx1234567890abcdef", "pagepath": "pages/progress/index?from=card"}
    assert body["url"] == "https://example.gov.cn/progress"


def test_without_either_the_card_opens_nothing() -> None:
    body = templates.payload("o1", "n1", DECIDED, None, NotificationSettings())
    assert "url" not in body and "miniprogram" not in body


@pytest.mark.parametrize("page", [{"appid": "not-an-appid", "pagepath": "p"}, {"appid": "wx1234567890abcdef", "pagepath": ""}])
def test_a_mini_program_page_must_be_one(page: dict) -> None:
    with pytest.raises(ValidationError):
        NotificationSettings(miniprogram=page)
