"""Route one inbound message or event: the user's active flow first, then the words and clicks
that start a flow, then the welcome and help texts. Events the user did not address to us are
acknowledged silently."""

from __future__ import annotations

import re

from bot.menu import MenuSettings
from bot.webhook.inbound import Inbound
from flows import faq, texts
from flows.answers import clean
from flows.engine import UserImage, UserText
from bot.notify.records import NotificationRecords
from handlers.conversation import Conversations
from handlers.reply import NoReply, Reply, Text

# Events that are notifications to the account, not something the user expects an answer to.
_SILENT_EVENTS = frozenset({
    "unsubscribe", "view", "view_miniprogram", "location", "templatesendjobfinish",
    "masssendjobfinish", "subscribe_msg_popup_event", "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
})

# What people type to start a service (the custom menu's clicks arrive as event keys).
START_WORDS = {
    "绑定": "bind_member", "绑定家人": "bind_member", "添加家人": "bind_member", "家庭共济": "bind_member",
    "共济": "bind_member", "办理共济": "bind_member",
    "验证身份": "verify", "身份验证": "verify", "实名认证": "verify",
    "我的家人": "my_family", "家人": "my_family", "我的共济": "my_family", "共济成员": "my_family",
    "办理进度": "progress", "进度": "progress", "查进度": "progress", "审核结果": "progress",
    "解除绑定": "unbind", "解绑": "unbind", "解除共济": "unbind", "解除": "unbind",
    "扣款顺序": "deduction_order", "扣费顺序": "deduction_order",
    "共济记录": "usage", "使用记录": "usage", "余额": "usage", "查余额": "usage", "账户余额": "usage",
}
CLICK_KEYS = {"BIND_MEMBER": "bind_member", "VERIFY": "verify", "MY_FAMILY": "my_family", "PROGRESS": "progress",
              "UNBIND": "unbind", "DEDUCTION_ORDER": "deduction_order", "USAGE": "usage"}
CONSENT = re.compile(r"(?:同意|确认)\s*([A-Za-z0-9]{6})")
QUESTION = re.compile(r"[?？]|吗|怎么|什么|能不能|可不可以|为什么|如何|多少")
POLICY_WORDS = re.compile(r"医保|共济|绑定|账户|报销|缴费|家人|亲属|办理|卡|钱")  # a policy question, not "在吗"
# Menu clicks that answer at once (the policy Q&A's content).
CLICK_ANSWERS = {
    "FAQ": lambda: texts.FAQ_MENU.format(topics=faq.topics()),
    "OFFLINE": lambda: faq.by_topic("线下怎么办理").answer,
    "HOTLINE": lambda: faq.by_topic("人工服务和热线").answer,
}


def welcome(menu: MenuSettings) -> str:
    """The welcome explains the menu the user actually sees, whatever the settings put in it."""
    lines = [texts.MENU_LINE.format(name=button.name, items="、".join(sub.name for sub in button.sub_button))
             if button.sub_button else f"· {button.name}" for button in menu.button]
    return texts.WELCOME.format(menu="\n".join(lines))


def needs_user_lock(inbound: Inbound) -> bool:
    """Events the user did not address to us touch no conversation: no need to queue them
    behind the user's lock (LOCATION comes every few seconds, template reports in bursts)."""
    return not (inbound.msg_type == "event" and inbound.event in _SILENT_EVENTS)


class Router:
    def __init__(self, conversations: Conversations, notifications: NotificationRecords) -> None:
        self.conversations = conversations
        self.notifications = notifications
        self.welcome = welcome(conversations.settings.menu)

    def __call__(self, inbound: Inbound) -> Reply:
        if inbound.msg_type == "event" and inbound.event == "templatesendjobfinish":
            self.notifications.delivery_report(inbound.field("MsgID"), inbound.field("Status"))
            return NoReply()
        reply = self._route(inbound)
        if inbound.msg_type == "event" and inbound.event in _SILENT_EVENTS:
            return reply
        # Decisions that could not be pushed (the user had unfollowed) come with the next reply.
        notices = self.notifications.take_pending(inbound.openid)
        if not notices:
            return reply
        text = "\n\n".join(notices)
        return Text(f"{text}\n\n{reply.content}") if isinstance(reply, Text) else Text(text)

    def _route(self, inbound: Inbound) -> Reply:
        if inbound.msg_type == "event":
            return self._event(inbound)
        if inbound.msg_type == "text":
            return self._text(inbound)
        if inbound.msg_type == "image":
            replies = self.conversations.handle(inbound.openid, UserImage(inbound.field("MediaId")))
            return _joined(replies) if replies is not None else Text(texts.UNSUPPORTED_MESSAGE)
        return Text(texts.UNSUPPORTED_MESSAGE)

    def _event(self, inbound: Inbound) -> Reply:
        if inbound.event in ("subscribe", "subscribe_scan", "scan"):
            return Text(self.welcome)
        if inbound.event == "unsubscribe":
            # Nobody to talk to any more: the draft and the verified identity go.
            self.conversations.forget(inbound.openid)
            return NoReply()
        if inbound.event in _SILENT_EVENTS:
            return NoReply()
        key = inbound.field("EventKey") if inbound.event == "click" else ""
        if key in CLICK_ANSWERS:
            # An answer, not a service: a flow in the middle stays where it is.
            still_open = self.conversations.active_title(inbound.openid)
            answer = CLICK_ANSWERS[key]()
            return Text(f"{answer}\n\n{texts.STILL_OPEN.format(title=still_open)}" if still_open else answer)
        flow = CLICK_KEYS.get(key)
        if flow:
            return _joined(self.conversations.handle(inbound.openid, None, start=flow))
        return Text(texts.HELP)

    def _text(self, inbound: Inbound) -> Reply:
        text = inbound.field("Content")
        consent = CONSENT.fullmatch(text.strip())
        if consent and self.conversations.active_flow(inbound.openid) is None:
            return _joined(self.conversations.handle(inbound.openid, None, start="consent",
                                                     start_data={"code": consent.group(1).upper()}))
        replies = self.conversations.handle(inbound.openid, UserText(text))
        if replies is not None:
            return _joined(replies)
        flow = START_WORDS.get(clean(text))
        if flow:
            return _joined(self.conversations.handle(inbound.openid, None, start=flow))
        entry = faq.match(text)
        if entry:
            return Text(entry.answer)
        if QUESTION.search(text) and POLICY_WORDS.search(text):
            return Text(texts.UNKNOWN_QUESTION.format(topics=faq.topics()))
        return Text(texts.HELP)


def _joined(replies: list[str] | None) -> Reply:
    return Text("\n\n".join(replies)) if replies else NoReply()
