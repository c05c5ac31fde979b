"""What the user is told when the binding service refuses (domain.md §7): what happened and what
to do next, in plain words; and the short reason a notification card has room for. Keyed by the
codes of flows/domain/refusals.py (bot/binding/errors.py has an error class for each)."""

HOTLINE = "如有疑问，请拨打医保服务热线 12393。"

REFUSALS = {
    "invalid_id_number": "身份证号码有误：请核对 18 位号码，最后一位如是字母请填大写 X。",
    "name_id_mismatch": "姓名和身份证号与医保登记信息不一致，请核对后重新填写（姓名请与身份证上完全一致）。",
    "initiator_not_employee": ("您参加的不是职工医保。城乡居民医保没有个人账户，所以无法发起家庭共济；"
                               "您可以作为家人被职工医保参保人绑定。"),
    "initiator_abnormal": "您的职工医保目前不是正常参保状态（如暂停、终止或欠费），恢复正常后才能办理。" + HOTLINE,
    "no_shareable_balance": "您的个人账户目前没有可共济的余额，暂时无法办理。" + HOTLINE,
    "relationship_forbidden": "按规定，家庭共济只能绑定配偶、父母、子女等近亲属，岳父母、公婆不在范围内。",
    "relationship_not_in_region": "本地目前还不支持绑定这类亲属，可以绑定配偶、父母、子女。" + HOTLINE,
    "member_not_insured": "这位家人目前没有参加医保（职工医保或城乡居民医保），需要先参保才能绑定。",
    "member_outside_area": "这位家人不在本统筹区参保，暂时不能绑定。" + HOTLINE,
    "member_other_province": ("这位家人在外省参保，不能通过绑定共济。可以在国家医保服务平台 App 的“医保钱包”"
                              "给家人转账（每次最多 2000 元，每天 3 次，22:00—06:00 不能转）。"),
    "member_bound_elsewhere": "这位家人已经和其他参保人建立了共济关系。本地规定一人只能有一个共济关系，需要对方先解除。",
    "already_bound": "这位家人已经绑定在您名下了（或正在审核中），不用重复办理。可在菜单“我的家人”查看。",
    "cannot_add_self": "不能绑定您自己，请填写家人的信息。",
    "pledge_not_accepted": "需要同意承诺书才能办理。",
    "consent_pending": "这位家人还没有确认同意，请提醒他/她按短信或消息提示完成确认。",
    "consent_expired": "家人没有在有效期内确认，申请已失效，请重新提交申请。",
    "consent_declined": "家人没有同意这次共济申请。",
    "consent_wrong_person": "这个确认码是发给被绑定的家人本人的，需要由家人本人确认。",
    "proof_missing": "为未满 16 岁的孩子办理，需要上传户口本或出生医学证明的照片。",
    "proof_rejected": "上传的证明材料没有通过审核，请重新提交清晰的户口本或出生医学证明照片。",
    "relationship_terminated": "因参保状态变化（如停保或转移），共济关系已自动解除。",
    "verification_code_wrong": "验证码不对，请查看短信后重新输入。",
    "verification_expired": "验证码已过期，请重新获取。",
    "verification_locked": "验证次数过多，为保护您的账户安全，请 15 分钟后再试。",
    "not_verified": "需要先验证您的身份。",
    "not_permitted": "只有共济关系的双方本人才能办理这项业务。",
    "application_not_found": "没有找到这份申请，请在菜单“办理进度”查看。",
    "binding_not_found": "没有找到这条共济关系，请在菜单“我的家人”查看。",
    "consent_not_found": "确认码不正确或已失效，请核对后重新发送。",
    "person_not_found": "没有找到您的参保信息。" + HOTLINE,
    "invalid_request": "办理信息不完整，请重新办理。",
    "service_unavailable": "医保系统繁忙，请稍后再试。您填写的内容已保存。",
}
UNKNOWN = "暂时无法办理。" + HOTLINE   # a code this catalogue does not know (yet)


def refusal(code: str) -> str:
    return REFUSALS.get(code, UNKNOWN)


# Twenty characters at most: template-message values (a push notification card). Besides the
# error codes, the reasons a binding ended (binding.ended decisions).
SHORT = {
    "consent_declined": "家人未同意", "consent_expired": "家人未在有效期内确认",
    "proof_rejected": "证明材料未通过审核", "proof_missing": "缺少证明材料",
    "relationship_terminated": "参保状态变化自动解除", "member_bound_elsewhere": "家人已与他人共济",
    "member_not_insured": "家人未参保", "name_id_mismatch": "姓名与证件号不一致",
    "ended_by_initiator": "本人申请解除", "ended_by_member": "家人申请解除",
}
# The same, told to a binding's member (a relative shares their account with them): who ended it,
# from their side.
SHORT_AS_MEMBER = {**SHORT, "ended_by_initiator": "家人申请解除", "ended_by_member": "本人申请解除"}
SHORT_UNKNOWN = "详情请咨询12393"


def short_reason(code: str | None, as_member: bool = False) -> str:
    return (SHORT_AS_MEMBER if as_member else SHORT).get(code or "", SHORT_UNKNOWN)
