"""The subscribe page (bot/subscribe_page/): where users subscribe to the subscription notices
(订阅通知) that bring a binding's result. Read mostly by older people on a phone: short sentences,
what to tap, and what happens next. The notices' own titles are the console's (settings)."""

TITLE = "订阅办理结果提醒"
INTRO = "订阅后，您为家人办理的家庭共济一有结果，我们就通过微信提醒您。没有关注公众号也能收到。"
LISTED = "可以订阅的提醒："
LONG_TERM = "订阅一次，以后每次的办理结果都会提醒您。"
ONE_TIME = "每订阅一次，可以收到一次提醒。"
HOW = "请点下面的“订阅提醒”，在弹出的窗口里点“允许”。"
BUTTON = "订阅提醒"

# What the page says after the pop-up, or instead of it.
DONE = "订阅好了！办理结果出来后，我们会通过微信提醒您。"
DECLINED = "您这次没有订阅。需要时可以再打开这个页面订阅；办理结果也可以给公众号发“办理进度”查询。"
FAILED = "暂时无法订阅，请稍后再试。办理结果也可以给公众号发“办理进度”查询。"
OPEN_IN_WECHAT = "请在微信里打开这个页面订阅。"
NOTHING = "目前没有需要订阅的提醒，办理结果会在公众号里通知您。"
