"""What each relationship is called (flows/domain/relationships.py has the relationships)."""

from flows.domain.relationships import Relationship

LABELS = {
    Relationship.SPOUSE: "配偶",
    Relationship.PARENT: "父母",
    Relationship.CHILD: "子女",
    Relationship.SIBLING: "兄弟姐妹",
    Relationship.GRANDPARENT: "祖父母/外祖父母",
    Relationship.GRANDCHILD: "孙子女/外孙子女",
    Relationship.PARENT_IN_LAW: "岳父母/公婆",
}
