"""The services' replies stay within WeChat's text limit (2048 bytes) however long the lists get."""

from __future__ import annotations

from datetime import date

import pytest

from flows import my_family, progress, usage
from flows.context import Context
from flows.domain.relationships import CLOSE_RELATIVES, Relationship, inverse

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
SHARER = {"binding_id": "B2", "relationship": "grandchild", "initiator_masked_name": "欧阳**",
          "initiator_masked_id_number": "3301**********0428", "status": "ended", "since": "2026-01-01T00:00:00+00:00",
          "ended_at": "2026-11-01T00:00:00+00:00", "end_reason": "ended_by_initiator"}
RECORD = {"at": "2026-11-01T00:00:00+00:00", "binding_id": "B1", "member_masked_name": "欧阳**",
          "place": "杭州市西湖区某某医药连锁有限公司定点零售药店", "amount": "12345.67"}


def test_long_lists_are_cut_to_fit_one_reply() -> None:
    family = my_family.render({"members": [MEMBER] * 50, "sharers": [SHARER] * 50, "applications": [WAITING] * 50},
                              CTX)
    recent = progress.render({"applications": [WAITING] * 50}, CTX)
    spent = usage.render({"usage": {"balance": "99999.99", "shareable_balance": "99999.99",
                                    "records": [RECORD] * 50}}, CTX)
    for reply in (family, recent, spent):
        assert len(reply.encode()) <= LIMIT
    assert "只列出最近 5 条" in recent and "只列出最近 10 条" in spent
    # Every list has its share; what does not fit is counted.
    assert "1. 孙子女/外孙子女 欧阳**" in family and "1. 祖父母/外祖父母 欧阳**" in family and "正在办理" in family
    shown = family.count("欧阳**")
    assert f"还有 {150 - shown} 条没有列出" in family


@pytest.mark.parametrize("declared, seen", [
    ("spouse", "配偶"), ("sibling", "兄弟姐妹"), ("child", "父母"), ("parent", "子女"),
    ("grandchild", "祖父母/外祖父母"), ("grandparent", "孙子女/外孙子女")])
def test_a_relative_who_shares_with_me_is_named_as_my_relative(declared, seen) -> None:
    """王建国 bound 李秀英 as his 配偶: she sees him as hers; a child bound by a parent sees 父母."""
    sharer = {**SHARER, "relationship": declared, "status": "active", "ended_at": None, "end_reason": None}
    family = my_family.render({"members": [], "sharers": [sharer], "applications": []}, CTX)
    assert family.startswith(f"为您开通共济的家人（您可以用他们的个人账户余额）：\n1. {seen} 欧阳**（3301**********0428）共济中")


def test_who_ended_it_is_said_from_my_side() -> None:
    family = my_family.render({"members": [{**MEMBER, "end_reason": "ended_by_initiator"}],
                               "sharers": [{**SHARER, "end_reason": "ended_by_member"}], "applications": []}, CTX)
    assert "1. 孙子女/外孙子女 欧阳**（3301**********0428）已解除，您申请解除，2026-11-01" in family
    assert "1. 祖父母/外祖父母 欧阳**（3301**********0428）已解除，您申请解除，2026-11-01" in family


def test_every_relationship_a_binding_may_have_turns_round_and_back() -> None:
    for relationship in CLOSE_RELATIVES:
        assert inverse(relationship) in CLOSE_RELATIVES and inverse(inverse(relationship)) == relationship
    assert inverse(Relationship.PARENT_IN_LAW) is None   # never bound
