"""Texts of the bind-a-family-member flow."""

TITLE = "绑定家人"

ASK_RELATIONSHIP = ("您的个人账户可共济余额 {balance} 元。\n请问要绑定的家人是您的？请回复序号：\n{choices}\n"
                    "也可以直接回复，例如“老伴”“儿子”。")
HELP_RELATIONSHIP = "家庭共济可以绑定近亲属：配偶、父母、子女等近亲属。岳父母、公婆不能绑定。"
BAD_RELATIONSHIP = "没看懂这位家人和您是什么关系。"
BAD_RELATIONSHIP_NUMBER = "没有这个序号，请回复 1 到 {count} 之间的序号。"
NOT_HERE = "本地目前可以绑定：{allowed}。"
DID_YOU_MEAN = "您是说“{word}”吗？回复“是”或“否”。"
WHICH_RELATIVE = "“{word}”在不同地方指的亲属不一样，您说的是哪一位？请回复序号：\n{choices}"
# What the relatives of [ambiguous] words in flows/understanding/lexicon/kinship.toml are called.
KIN_LABELS = {
    "spouse": "配偶（您的妻子或丈夫）", "parent": "父母（您的父亲或母亲）", "child": "子女（您的儿子或女儿）",
    "sibling": "兄弟姐妹", "grandparent": "祖父母/外祖父母（您的爷爷奶奶、外公外婆）",
    "grandchild": "孙子女/外孙子女", "parent_in_law": "公婆/岳父母（配偶的父母）",
    "child_in_law": "儿媳/女婿（子女的配偶）", "sibling_in_law": "兄弟姐妹的配偶，或配偶的兄弟姐妹",
    "nephew_niece": "侄子女/外甥子女", "uncle_aunt": "叔伯姑舅姨", "cousin": "堂表兄弟姐妹",
    "step_or_other": "其他亲属或朋友",
}
REFUSED = "按规定，家庭共济只能绑定配偶、父母、子女、兄弟姐妹、祖父母/外祖父母、孙子女/外孙子女这些近亲属；{who}不在范围内，不能绑定。"
# Relatives the rules never allow, by the reason kinship.toml files them under.
REFUSED_KIN = {
    "parent_in_law": "岳父母、公婆",
    "child_in_law": "儿媳、女婿（子女的配偶）",
    "sibling_in_law": "嫂子、弟媳、姐夫、妹夫等（兄弟姐妹的配偶或配偶的兄弟姐妹）",
    "nephew_niece": "侄子女、外甥子女",
    "uncle_aunt": "叔伯姑舅姨等长辈亲属",
    "cousin": "堂表兄弟姐妹",
    "step_or_other": "这位亲属（或朋友）",
}

ASK_NAME = "请输入这位家人的姓名（与身份证一致）："
HELP_NAME = "请填写家人身份证上的姓名。少数民族姓名中间的点请用“·”。"
CONFIRM_NAME = "您说的“{name}”是家人的姓名吗？回复“是”或“否”。"
NOT_YOUR_NAME = "这一步请填写家人的姓名（不是您自己的）。"
YES_OR_NO = "请回复“是”或“否”。"
AGREE_OR_NOT = "请回复“同意”或“不同意”。"

ASK_ID = "请输入这位家人的证件号码（居民身份证、港澳台居民居住证或外国人永久居留身份证）："
HELP_ID = "居民身份证号码共 18 位，最后一位如是字母请填 X。孩子的号码可以在户口本上找到。"
SELF = "这是您本人的证件号码。请填写家人的证件号码。"

ASK_AGE = ("按证件号码，这位{relationship}今年 {age} 岁，和所选关系、您的年龄对不上。信息确认无误吗？\n"
           "回复“是”继续，回复“否”重新填写证件号码（关系选错了，提交前核对时可以修改）。")

ASK_PROOF = "孩子未满 {age} 岁，需要上传户口本（孩子那一页）或出生医学证明的照片。\n请点输入框旁的“+”发送照片："
HELP_PROOF = "请拍清楚户口本上孩子的那一页（能看到姓名、身份证号、与户主关系），或出生医学证明。"

ASK_PLEDGE = (
    "请阅读《个人账户家庭成员共济承诺书》：\n"
    "1. 我自愿将职工医保个人账户授权给上述家人共济使用；\n"
    "2. 所填家人信息真实，双方确为近亲属关系；\n"
    "3. 家人须使用本人医保凭证就医购药，不将账户用于套现、转借等违规用途，否则依法承担责任；\n"
    "4. 共济资金用于家人在定点医药机构发生的个人负担费用及参保缴费，统筹基金不能共济。\n"
    "同意请回复“同意”，不同意请回复“不同意”。"
)
HELP_PLEDGE = "只有同意承诺书才能办理。如有疑问可拨打 12393。"
PLEDGE_DECLINED = ("您没有同意承诺书，本次办理已结束，填写的信息已删除。\n"
                   "想好了随时回复“绑定家人”或点击菜单“家庭共济 → 绑定家人”重新办理；有疑问可拨打 12393。")

SUMMARY = "请核对您要提交的信息：\n{items}\n回复“确认”提交申请；要修改某一项，回复“修改”加序号，例如“修改2”。"
# The summary's items, by the step that asks for each: shown as 关系：配偶; 修改 and “名字写错了”
# find an item by its label, or by its step's aliases (flows/understanding/lexicon/services.toml).
ITEMS = {"relationship": "关系", "member_name": "姓名", "member_id": "证件号码", "proof": "证明材料"}
ITEM = "{label}：{value}"
# The member's ID number: its kind's name as the item's label; masked, with sex and age, as its value.
ID_TYPES = {"resident_id": "身份证号码", "hmt_residence_permit": "港澳台居民居住证",
            "foreign_permanent": "外国人永久居留身份证"}
SEX = {"M": "男", "F": "女"}
ID_DETAILS = "{number}（{age}岁）"
ID_DETAILS_WITH_SEX = "{number}（{sex}，{age}岁）"
PROOF_ATTACHED = "已上传"
HELP_SUMMARY = "确认无误回复“确认”。发现填错了，回复“修改1”“修改2”……可以只改那一项。"
BAD_SUMMARY = "请回复“确认”提交，或“修改”加序号修改，例如“修改2”。"

APPROVED = "办理成功！{relationship} {name} 已可以使用您的个人账户余额。\n家人就医购药时，出示自己的医保码或医保卡即可。"
PENDING_CONSENT = (
    "申请已提交，还需要您的{relationship} {name} 本人确认同意。\n"
    "请让家人：\n1. 微信关注本公众号；\n2. 发送“同意 {code}”给公众号，按提示验证身份后确认。\n"
    "（家人也可以打开链接确认：{url}）\n"
    "确认码 {code} 有效期至 {expires}。家人确认后，我们会通知您结果。"
)
# After a submission whose result comes later, when the result goes out as a subscription notice
# (订阅通知): the subscribe page. WeChat shows <a href> in a text message as a link.
SUBSCRIBE = '想在办理结果出来时收到微信提醒，请点：<a href="{url}">订阅办理结果提醒</a>'
UNDER_REVIEW = "申请已提交，正在审核（一般 1~2 个工作日）。审核结果会通过公众号消息通知您，也可以在菜单“办理进度”查看。"
REJECTED = "申请没有通过：{reason}"
NOT_ELIGIBLE = "暂时无法发起家庭共济：{reason}"
