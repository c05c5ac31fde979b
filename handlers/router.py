"""Route one inbound message or event to the user's conversation (the engine decides what it
means: an answer, a service asked for in words, a question, small talk), a menu click to the flow
its key starts, and events the user did not address to us to silence. No flow is named here:
each flow declares how it starts (flows/*.py `Entry`)."""

from __future__ import annotations

from flows import faq, texts
from flows.catalog import ENGINE
from flows.engine import Event, Unreadable, UserImage, UserText
from handlers import subscription_events
from handlers.conversation import Conversations
from handlers.inbound import Inbound
from handlers.ports import Menu, Notices, Session, Subscriptions
from handlers.reply import NoReply, Reply, Text

# Events that are notifications to the account, not something the user expects an answer to.
_SILENT_EVENTS = frozenset({
    "unsubscribe", "view", "view_miniprogram", "location", "templatesendjobfinish",
    "masssendjobfinish", "subscribe_msg_popup_event", "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
})

# Menu clicks that answer at once (the policy Q&A's content).
CLICK_ANSWERS = {
    "FAQ": lambda: texts.FAQ_MENU.format(topics=faq.topics()),
    "OFFLINE": lambda: faq.by_id("at_the_service_hall").answer,
    "HOTLINE": lambda: faq.by_id("hotline").answer,
}


def welcome(menu: Menu) -> str:
    """The welcome explains the menu the user actually sees, whatever the settings put in it."""
    lines = [texts.MENU_LINE.format(name=button.name, items=texts.LIST_COMMA.join(sub.name for sub in button.sub_button))
             if button.sub_button else texts.MENU_BUTTON.format(name=button.name) for button in menu.button]
    return texts.WELCOME.format(menu="\n".join(lines))


def needs_user_lock(inbound: Inbound) -> bool:
    """Events the user did not address to us touch no conversation: no need to queue them
    behind the user's lock (LOCATION comes every few seconds, template reports in bursts)."""
    return not (inbound.msg_type == "event" and inbound.event in _SILENT_EVENTS)


def user_event(inbound: Inbound) -> Event:
    """What the user sent, as the conversation sees it. A voice message is read like text when
    WeChat delivers its recognised words (`Recognition`, spoken numbers and all)."""
    if inbound.msg_type == "text":
        return UserText(inbound.field("Content"))
    if inbound.msg_type == "voice":
        heard = inbound.field("Recognition").strip()
        return UserText(heard) if heard else Unreadable("voice")
    if inbound.msg_type == "image":
        return UserImage(inbound.field("MediaId"))
    return Unreadable("other")


class Router:
    def __init__(self, conversations: Conversations, notifications: Notices,
                 subscriptions: Subscriptions | None = None) -> None:
        self.conversations = conversations
        self.notifications = notifications
        self.subscriptions = subscriptions
        self.welcome = welcome(conversations.settings.menu)

    def __call__(self, inbound: Inbound, session: Session | None = None) -> Reply:
        """The reply to one message; `session`: its user's records, read with it under their lock."""
        if inbound.msg_type == "event" and inbound.event == "templatesendjobfinish":
            self.notifications.delivery_report(inbound.field("MsgID"), inbound.field("Status"))
            return NoReply()
        if inbound.msg_type == "event" and inbound.event in subscription_events.EVENTS:
            if self.subscriptions is not None:
                subscription_events.record(inbound, self.subscriptions)
            return NoReply()
        reply = self._route(inbound, session)
        if inbound.msg_type == "event" and inbound.event in _SILENT_EVENTS:
            return reply
        # Decisions that could not be pushed (the user had unfollowed) come with the next reply.
        notices = self.notifications.take_pending(inbound.openid, session)
        if not notices:
            return reply
        text = "\n\n".join(notices)
        return Text(f"{text}\n\n{reply.content}") if isinstance(reply, Text) else Text(text)

    def _route(self, inbound: Inbound, session: Session | None) -> Reply:
        if inbound.msg_type == "event":
            return self._event(inbound, session)
        return _joined(self.conversations.handle(inbound.openid, user_event(inbound), session=session))

    def _event(self, inbound: Inbound, session: Session | None) -> Reply:
        if inbound.event in ("subscribe", "subscribe_scan", "scan"):
            return Text(self.welcome)
        if inbound.event == "unsubscribe":
            # Nobody to talk to any more: the draft and the verified identity go.
            self.conversations.forget(inbound.openid, session)
            return NoReply()
        if inbound.event in _SILENT_EVENTS:
            return NoReply()
        key = inbound.field("EventKey") if inbound.event == "click" else ""
        if key in CLICK_ANSWERS:
            # An answer, not a service: a flow in the middle stays where it is.
            still_open = self.conversations.active_title(inbound.openid, session)
            answer = CLICK_ANSWERS[key]()
            return Text(f"{answer}\n\n{texts.STILL_OPEN.format(title=still_open)}" if still_open else answer)
        flow = ENGINE.start_for(key)
        if flow:
            return _joined(self.conversations.handle(inbound.openid, start=flow, session=session))
        return Text(texts.HELP)


def _joined(replies: list[str] | None) -> Reply:
    return Text("\n\n".join(replies)) if replies else NoReply()
