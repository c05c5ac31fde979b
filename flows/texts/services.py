"""Texts of the services behind the menu: my family, progress, unbind, deduction order, usage.
Reviewers edit wording here, not in code."""

# -- shared ----------------------------------------------------------------------------------------
BINDING_STATUS = {"active": "共济中", "ended": "已解除", "terminated": "已自动解除"}
END_REASONS = {"ended_by_initiator": "您申请解除", "ended_by_member": "家人申请解除",
               "insurance_changed": "参保状态变化"}
# The same, for a binding in which the user is the member (a relative shares their account with them).
END_REASONS_AS_MEMBER = {"ended_by_initiator": "家人申请解除", "ended_by_member": "您申请解除",
                         "insurance_changed": "参保状态变化"}
FAMILY_MEMBER = "家人"   # a relative whose relationship has no name from the user's side
APPLICATION_STATUS = {"pending_consent": "等待家人确认", "under_review": "审核中", "approved": "已通过",
                      "rejected": "未通过"}
NO_MEMBERS = "您还没有绑定家人。点击菜单“家庭共济 → 绑定家人”即可办理。"
NO_ACTIVE_MEMBERS = "您目前没有正在共济的家人。"
BAD_CHOICE = "请回复序号，例如“1”。"
MORE_LISTED = "（只列出最近 {shown} 条。更早的记录请到医保经办大厅或拨打 12393 查询。）"
# One member in a list (flows/members.py), or an application still open (my family).
MEMBER_LINE = "{relationship} {name}（{id_number}）{status}"
MEMBER_SINCE = "{line}，{since} 起"
MEMBER_ENDED = "{line}，{ended}"
MEMBER_ENDED_BECAUSE = "{line}，{reason}，{ended}"

# -- my family -------------------------------------------------------------------------------------
MY_FAMILY_TITLE = "我的家人"
MY_FAMILY = "您的家庭共济成员（可以用您的个人账户余额）：\n{lines}"
# The relatives who share their account with the user: each named as the user's relative (父母 for a parent).
MY_SHARERS = "为您开通共济的家人（您可以用他们的个人账户余额）：\n{lines}"
MY_FAMILY_IN_PROGRESS = "正在办理：\n{lines}"
MY_FAMILY_NEXT = "要解除请点菜单“解除绑定”，查看申请详情请点“查询 → 办理进度”。"
# When the lists are too long for one reply.
MY_FAMILY_MORE = "（还有 {more} 条没有列出。全部记录请到医保经办大厅或拨打 12393 查询。）"

# -- progress --------------------------------------------------------------------------------------
PROGRESS_TITLE = "办理进度"
NO_APPLICATIONS = "您还没有提交过家庭共济申请。点击菜单“家庭共济 → 绑定家人”即可办理。"
PROGRESS = "您最近的家庭共济申请：\n{lines}"
APPLICATION_LINE = "{relationship} {name}：{status}"
APPLICATION_DECIDED = "{line}（{day}）"
APPLICATION_REJECTED = "{line}，{reason}"
HOW_TO_CONSENT = ("   请让{name}：微信关注本公众号，发送“同意 {code}”，按提示验证身份后确认；"
                  "也可以打开 {url}（{expires} 前有效）。")
UNDER_REVIEW_NOTE = "   一般 1~2 个工作日审核完，结果会发消息通知您。"

# -- unbind ----------------------------------------------------------------------------------------
UNBIND_TITLE = "解除绑定"
CHOOSE_TO_UNBIND = "要和哪位家人解除共济关系？请回复序号：\n{lines}"
# In that list, a relative who shares their account with the user (the user is the member).
CHOICE_AS_MEMBER = "{relationship} {name}（您在用对方的个人账户）"
NO_ACTIVE_BINDINGS = "您目前没有正在共济的家人：没有家人在用您的个人账户，您也没有在用家人的个人账户。"
CONFIRM_UNBIND = ("确定要解除与{relationship} {name}的共济关系吗？\n"
                  "解除后，{name}就医购药将不能再使用您的个人账户余额；以后需要可以重新绑定。\n"
                  "回复“是”解除，回复“否”不解除。")
# The user is the member: a relative shares their account with them.
CONFIRM_LEAVE = ("确定要解除与{relationship} {name}的共济关系吗？\n"
                 "解除后，您就医购药将不能再使用{name}的个人账户余额；以后需要，可以请{name}重新为您绑定。\n"
                 "回复“是”解除，回复“否”不解除。")
HELP_UNBIND = ("您和家人任何一方都可以解除。解除后，被共济的一方就医购药不能再用共济人的个人账户余额，"
               "已经发生的费用不受影响。需要时可以重新绑定。")
UNBIND_YES_OR_NO = "请回复“是”解除，或回复“否”不解除。"
KEPT = "好的，没有解除。{relationship} {name}仍可以使用您的个人账户余额。"
KEPT_AS_MEMBER = "好的，没有解除。您仍可以使用{relationship} {name}的个人账户余额。"
# Whoever ends a binding here has this reply as their receipt; the notification goes to the other
# party only (bot/binding/decisions.py). Ended by the initiator:
UNBOUND = ("已解除与{relationship} {name}的共济关系：{name}就医购药不再使用您的个人账户余额，已经发生的费用不受影响。"
           "这条消息就是解除回执，请留存。")
# Ended by the member (the notification goes to the relative who shared):
LEFT = ("已解除与{relationship} {name}的共济关系：您就医购药不再使用{name}的个人账户余额，已经发生的费用不受影响。"
        "这条消息就是解除回执，请留存。")

# -- deduction order -------------------------------------------------------------------------------
ORDER_TITLE = "扣款顺序"
CHOOSE_FOR_ORDER = "要查看哪位家人的扣款顺序？请回复序号：\n{lines}"
ONLY_ME = ("{name}目前只有您一位共济人：就医购药时直接从您的个人账户扣款，不需要设置扣款顺序。\n"
           "（家人同时被几位亲属共济时，才需要决定先扣谁的账户。）")
ORDER = ("{name}有 {count} 位共济人，目前的扣款顺序是：\n{lines}\n排在前面的账户先扣，扣完再扣下一位。\n"
         "要调整，请按新的顺序回复序号，例如“{example}”；回复“我第一”把您排到第一位；不调整请回复“不用”。")
HELP_ORDER = "例如有两位共济人，回复“2 1”就是先扣第 2 位的账户。只有共济人（出钱的一方）可以调整顺序。"
BAD_ORDER = "请按新的顺序回复全部序号，每个序号一次，例如“{example}”；不调整请回复“不用”。"
CONFIRM_ORDER = "新的扣款顺序：\n{lines}\n确认修改吗？回复“是”确认，回复“否”不修改。"
ORDER_SAVED = "扣款顺序已修改，{name}就医购药时按这个顺序扣款：\n{lines}"
ORDER_UNCHANGED = "好的，扣款顺序没有改变。"
ORDER_YES_OR_NO = "请回复“是”确认修改，或回复“否”不修改。"
ME = "（您）"

# -- usage -----------------------------------------------------------------------------------------
USAGE_TITLE = "共济记录"
USAGE = "您的个人账户余额 {balance} 元，其中可供家人共济使用 {shareable} 元。"
NO_USAGE = "目前还没有家人使用过您的个人账户。"
USAGE_RECORDS = "最近的共济使用记录：\n{lines}"
RECORD_LINE = "{at} {name} {place} {amount} 元"
