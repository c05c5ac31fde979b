"""The custom menu's default buttons (bot/menu.py DEFAULT_MENU; settings may replace the menu):
the names of the three groups, and of each button by the key its click sends. WeChat allows 16
bytes for a group's name (5 Chinese characters) and 60 for a button's."""

GROUPS = {"family": "家庭共济", "query": "查询", "help": "帮助"}
BUTTONS = {
    "BIND_MEMBER": "绑定家人", "MY_FAMILY": "我的家人", "UNBIND": "解除绑定", "DEDUCTION_ORDER": "扣款顺序",
    "PROGRESS": "办理进度", "USAGE": "共济记录",
    "FAQ": "政策问答", "OFFLINE": "线下办理", "HOTLINE": "服务热线",
}
