"""Relationships between an initiator and a family member (domain.md §3)."""

from __future__ import annotations

from enum import StrEnum


class Relationship(StrEnum):
    SPOUSE = "spouse"                 # 配偶
    PARENT = "parent"                 # 父母
    CHILD = "child"                   # 子女
    SIBLING = "sibling"               # 兄弟姐妹
    GRANDPARENT = "grandparent"       # 祖父母/外祖父母
    GRANDCHILD = "grandchild"         # 孙子女/外孙子女
    PARENT_IN_LAW = "parent_in_law"   # 岳父母/公婆: allowed nowhere; named so it can be refused


BASELINE = (Relationship.SPOUSE, Relationship.PARENT, Relationship.CHILD)
CLOSE_RELATIVES = BASELINE + (Relationship.SIBLING, Relationship.GRANDPARENT, Relationship.GRANDCHILD)


# A binding seen from the member's side: the initiator bound the member as their `key`, so the
# initiator is the member's `value` (王建国 bound 李秀英 as his 配偶: she sees him as hers; a child
# bound by a parent sees that parent as 父母). In-laws are never bound, so they have no inverse here.
SEEN_BY_MEMBER = {
    Relationship.SPOUSE: Relationship.SPOUSE,
    Relationship.SIBLING: Relationship.SIBLING,
    Relationship.PARENT: Relationship.CHILD,
    Relationship.CHILD: Relationship.PARENT,
    Relationship.GRANDPARENT: Relationship.GRANDCHILD,
    Relationship.GRANDCHILD: Relationship.GRANDPARENT,
}


def inverse(relationship: Relationship) -> Relationship | None:
    """What the initiator is to the member, given what the member is to the initiator."""
    return SEEN_BY_MEMBER.get(relationship)
