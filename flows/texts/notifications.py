"""A binding's news as a push notification (bot/notify/templates.py): the values a template
message's keywords are filled with — at most 20 characters each, one line — and the same news as
a line of chat, for a user who sees it at their next message. The reasons are
flows/texts/refusals.py's short ones. And an answer that came after WeChat's deadline and could
not be sent (bot/notify/late.py), as it is shown with the user's next reply."""

RESULTS = {"approved": "已通过", "rejected": "未通过", "ended": "已解除", "terminated": "已解除"}
SOMEONE = "您的家人"        # the other party, when the bureau does not say who
FAMILY = "家人"             # the relationship, likewise
NO_REASON = "无"

AS_TEXT = "【办理结果】您为{relationship} {member} 办理的家庭共济{result}（{decided_at}）。"
AS_TEXT_WITH_REASON = "【办理结果】您为{relationship} {member} 办理的家庭共济{result}：{reason}（{decided_at}）。"

# A late answer WeChat would not take as a customer-service message (the 48-hour window closed, or
# its sends used up): shown in front of the user's next reply.
LATE_ANSWER = "【您之前消息的回复】\n{answer}"

# The same news told to the binding's member: the relative who shares their account with them,
# named as the member's relative (flows/domain/relationships.py `inverse`).
AS_TEXT_FOR_MEMBER = "【办理结果】{relationship} {member} 为您办理的家庭共济{result}（{decided_at}）。"
AS_TEXT_FOR_MEMBER_WITH_REASON = "【办理结果】{relationship} {member} 为您办理的家庭共济{result}：{reason}（{decided_at}）。"
