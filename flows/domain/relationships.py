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
