"""The services' replies stay within WeChat's text limit (2048 bytes) however long the lists get."""

from __future__ import annotations

from datetime import date

from flows import my_family, progress, usage
from flows.context import Context

CTX = Context(now=0.0, today=date(2026, 11, 23))
LIMIT = 2048
MEMBER = {"binding_id": "B1", "relationship": "grandchild", "masked_name": "欧阳**", "masked_id_number":
          "3301**********0428", "status": "ended", "since": "2026-01-01T00:00:00+00:00",
          "ended_at": "2026-11-01T00:00:00+00:00", "end_reason": "ended_by_member"}
WAITING = {"application_id": "A1", "status": "pending_consent", "relationship": "grandchild",
           "member_masked_name": "欧阳**", "member_masked_id_number": "3301**********0428", "reason": None,
           "consent": {"code": "ABC123", "url": "https://consent.example.gov.cn/family-aid/consent/ABC123",
                       "expires_at": "2026-11-24T00:00:00+00:00"},
           "submitted_at": "2026-11-23T00:00:00+00:00", "decided_at": None}
RECORD = {"at": "2026-11-01T00:00:00+00:00", "binding_id": "B1", "member_masked_name": "欧阳**",
          "place": "杭州市西湖区某某医药连锁有限公司定点零售药店", "amount": "12345.67"}


def test_long_lists_are_cut_to_fit_one_reply() -> None:
    family = my_family.render({"members": [MEMBER] * 50, "applications": [WAITING] * 50}, CTX)
    recent = progress.render({"applications": [WAITING] * 50}, CTX)
    spent = usage.render({"usage": {"balance": "99999.99", "shareable_balance": "99999.99",
                                    "records": [RECORD] * 50}}, CTX)
    for reply in (family, recent, spent):
        assert len(reply.encode()) <= LIMIT
    assert "只列出最近 5 条" in recent and "只列出最近 10 条" in spent
