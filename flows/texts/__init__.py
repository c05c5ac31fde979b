"""The catalogue: every word the bot says to its users, and nothing else (README.md here says what
belongs, how to add a text, and why code holds no Chinese). Reviewers edit wording here, not in code.

This module: what the engine and the handlers say whatever the flow — the welcome, help, the moves
every flow shares, small talk, the Q&A's menu. Beside it, a module per place words are used:
each flow's, the answers several flows ask for, the bureau's refusals, relationships, the webhook's
apologies, the menu's buttons, the notifications, the subscribe page, and the policy Q&A (faq.toml)."""


WELCOME = (
    "您好，欢迎关注职工医保家庭共济服务！\n"
    "在这里，您可以把自己职工医保个人账户的余额，授权给配偶、父母、子女等近亲属使用。\n"
    "点击下方菜单即可办理：\n{menu}\n"
    "也可以直接发文字给我，例如“绑定家人”“我的家人”，或者问“共济的钱能用在哪里？”。"
)
MENU_LINE = "· {name}：{items}"
MENU_BUTTON = "· {name}"   # a button without sub-buttons
LIST_COMMA = "、"          # between the items of a list: 配偶、父母、子女

HELP = (
    "我可以帮您办理职工医保家庭共济：把您个人账户的余额授权给配偶、父母、子女等家人使用。\n"
    "· 回复“绑定家人”开始办理；“我的家人”“办理进度”“解绑”“扣款顺序”“共济记录”查询和管理\n"
    "· 家人收到确认码后，回复“同意 确认码”\n"
    "办理中随时可以回复“帮助”“上一步”“取消”。如需人工帮助，请拨打医保服务热线 12393。"
)

UNSUPPORTED_MESSAGE = "抱歉，这类消息我暂时看不懂。请发送文字，或点击下方菜单。"
VOICE_UNHEARD = "这条语音我没听清。请打字回复，或点击下方菜单办理。"
NOT_UNDERSTOOD = "抱歉，我没太明白您的意思。\n" + HELP

SERVICE_BUSY = "医保系统繁忙，请稍后再试。"   # the binding service is down and the user had typed nothing yet

# The bot's own limits on verification codes, consent codes and ID checks (bot/binding/guard.py).
TOO_MANY_ATTEMPTS = ("为了保护您的医保信息安全，尝试次数已经达到上限，请 {wait}后再试。"
                     "如果急需办理，请拨打医保服务热线 12393。")
WAIT_MINUTES = "{n} 分钟"
WAIT_HOURS = "{n} 小时"

# A moment as users read it (a consent's deadline, when something happened), for strftime.
DAY_AND_TIME = "%m月%d日 %H:%M"

# Told in a WeChat account when the same person has just verified in another one.
LINKED_ELSEWHERE = ("【安全提醒】您的医保身份（{name}）于 {at} 在另一个微信号上完成了验证。"
                    "如果不是您本人操作，请立即拨打医保服务热线 12393；"
                    "如果您已不再用本微信号办理，可以回复“退出验证”。")

# -- moves that work at every step of every flow ---------------------------------------------------
GENERIC_HELP = "请按提示回复。随时可以回复“上一步”返回，“取消”结束办理，“重新开始”从头再来。"
NO_STEP_BACK = "已经是第一步了。"
CONFIRM_CANCEL = "确定要取消“{title}”吗？已填写的内容将被删除。\n回复“是”取消，回复“否”继续办理。"
CONFIRM_RESTART = "确定要重新开始“{title}”吗？已填写的内容将被清空。\n回复“是”重新开始，回复“否”继续办理。"
CANCELLED = "已取消“{title}”，填写的信息已删除。需要时点击菜单可以重新办理。"
CARRY_ON = "好的，我们继续。"
YES_OR_NO = "请回复“是”或“否”。"
RESUME_QUESTION = "您上次的“{title}”还没有办完。\n回复 1 继续上次，回复 2 重新开始，回复“取消”不办了。"
RESUME_PAUSED = "您之前的“{title}”还没有办完，已为您保留。\n回复 1 接着办，回复 2 重新开始，回复“取消”不办了。"
CONFIRM_SWITCH = ("您正在办理“{current}”，还没有办完。\n要先去“{target}”吗？\n"
                  "回复“是”前往（已填写的内容会为您保留，之后可以接着办），回复“否”继续办理“{current}”。")
RETRY_PROMPT = "回复“重试”再试一次，或回复“取消”结束办理。"
SEND_IMAGE = "这一步需要一张照片：请点输入框旁的“+”，选择“照片”或“拍摄”发送。"
SEND_TEXT = "这一步请回复文字。"
WAY_OUT = (
    "看起来这一步不太好填，别着急：\n"
    "· 回复“帮助”查看填写说明\n"
    "· 回复“取消”结束“{title}”\n"
    "· 拨打医保服务热线 12393 咨询\n"
    "· 带上双方身份证到医保经办大厅办理"
)
FLOW_CHANGED = "服务流程刚刚更新过，您已填写的内容都保留了，我们从还没填的地方继续。"
STILL_OPEN = "（您的“{title}”还没有办完，接着回复上一个问题就可以继续。）"
FLOW_GONE = "您之前办理的事项已停止服务，请点击菜单重新选择。"
NO_SUCH_ITEM = "没有这一项，请回复“修改”加上序号，例如“修改2”。"
WHICH_ITEM = "要修改哪一项？请回复“修改”加上序号，例如“修改2”；都对的话回复“确认”。"
SAY_AGAIN = "好的，那请您再说一遍。"
ALREADY_HERE = "您正在办理“{title}”，接着回答下面的问题就可以。"
NOTED_PREFIX = "您已经告诉我的"
NOTED = NOTED_PREFIX + "{items}已为您填好。"

# -- what people say at any moment: answered, then the pending question again -----------------------
HUMAN = "需要人工帮助，请拨打医保服务热线 12393，或带上身份证到当地医保经办大厅办理。"
DRAFT_KEPT = "\n在这里办到一半的内容会为您保留。"
STEP_MOVES = {
    "greeting": "您好！我们接着办。",
    "thanks": "不客气！我们接着办。",
    "wait": "好的，不着急，填好的内容会为您保留。准备好了直接回复就行。",
}
# The same, when nothing is going on.
IDLE_MOVES = {
    "help": HELP,
    "greeting": "您好！我是职工医保家庭共济服务助手。\n" + HELP,
    "thanks": "不客气！还有需要随时给我发消息，或点击下方菜单。",
    "wait": "好的，不着急。准备好了发消息给我，或点击下方菜单办理。",
    "back": "现在没有正在办理的事项。\n" + HELP,
    "cancel": "现在没有正在办理的事项，不用取消。\n" + HELP,
    "restart": "好的。回复“绑定家人”开始办理，或点击下方菜单选择要办的事。",
}

FAQ_MENU = "您可以直接问我，例如：\n{topics}\n也可以拨打医保服务热线 12393。"
FAQ_TOPIC = "· {topic}"
UNKNOWN_QUESTION = "这个问题我还答不上来。您可以问我：\n{topics}\n或拨打医保服务热线 12393 咨询。"
