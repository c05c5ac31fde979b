"""Texts of the identity-verification flow."""

TITLE = "身份验证"
ITEMS = {"name": "姓名", "id_number": "身份证号码", "code": "验证码"}   # by step: what 修改 and the engine call them
ASK_NAME = "为了保护您的医保信息，先验证一下您的身份（只需一次）。\n请输入您的姓名（与身份证一致）："
HELP_NAME = "请填写身份证上的姓名，例如“王建国”。少数民族姓名中间的点请用“·”。"
ASK_NAME_AGAIN = ("为了您的医保账户安全，绑定、解除家人或确认同意前，需要再验证一次身份（会发新的验证码）。\n"
                  "请输入您的姓名（与身份证一致）：")
CONFIRM_NAME = "您说的“{name}”是您的姓名吗？回复“是”或“否”。"
ASK_ID = "请输入您的 18 位身份证号码："
HELP_ID = "身份证号码在身份证背面，共 18 位；最后一位如果是字母，请填 X。也可以是港澳台居民居住证或外国人永久居留身份证号码。"
# The phone number is not shown: it would tell whether the name and ID number matched.
ASK_CODE = "如果姓名和身份证号无误，验证码已发送到您在医保登记的手机，请回复 6 位验证码："
HELP_CODE = ("请查看手机短信里的 6 位数字验证码。收不到短信？可能是姓名或身份证号填错了："
             "回复“重新开始”重新填写，或稍后再试。")
CODE_RESENT = "这个验证码已失效（过期或输错次数较多），已为您发送新的验证码。"
VERIFIED = "身份验证成功：{name}（{id_number}）。"
WHAT_NEXT = "接下来您可以回复“绑定家人”办理家庭共济，或点击下方菜单查看“我的家人”“共济记录”。"

SIGN_OUT_TITLE = "退出验证"
CONFIRM_SIGN_OUT = ("确定要退出身份验证吗？退出后本微信号不再关联您的医保身份，没办完的内容也会删除，"
                    "再办理时需要重新验证。\n回复“是”退出，回复“否”保留。")
SIGN_OUT_YES_OR_NO = "请回复“是”退出验证，或回复“否”保留。"
SIGN_OUT_KEPT = "好的，已保留您的身份验证。"
SIGNED_OUT = "已退出身份验证，本微信号不再关联您的医保身份。需要办理时，回复“验证身份”重新验证即可。"
NOT_SIGNED_IN = "本微信号目前没有验证身份，不需要退出。"
