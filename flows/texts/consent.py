"""Texts of the member-consent flow."""

TITLE = "确认家庭共济"
ASK = (
    "{initiator} 申请把自己的职工医保个人账户授权给您使用（您是申请人的{relationship}）。\n"
    "同意后，您就医购药时个人负担的费用可以从对方的个人账户支付；统筹基金不能共济。\n"
    "您可以随时解除。是否同意？回复“同意”或“不同意”。"
)
HELP = "这是家人为您办理的家庭共济。同意后由对方的个人账户为您支付自付部分，您不需要付任何费用，也可以随时解除。"
AGREED = "您已同意，家庭共济已生效（或进入审核）。就医购药时出示您自己的医保码即可。"
DECLINED = "您已拒绝这次共济申请，我们会告知申请人。"
ALREADY = "这份申请已经处理过了，当前状态：{status}。"
STATUS = {"approved": "已生效", "under_review": "审核中", "rejected": "未通过", "pending_consent": "待确认"}
AGREE_OR_NOT = "请回复“同意”或“不同意”。"
