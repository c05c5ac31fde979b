"""The subscribe page (GET /subscribe), served by the webhook's app: WeChat's open tag
`wx-open-subscribe` for the subscription notices (订阅通知) of the kinds that use them, signed for
the JS-SDK with the shared jsapi_ticket. Its words are flows/texts/subscribe.py's.

views.py the page; templates/subscribe_page.html its markup and script. Outside WeChat its script
cannot run WeChat's open tag: in development it offers a stand-in button that asks the simulator
(the page's parent frame) to play WeChat's pop-up (bot/simulator/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

PATH = "/subscribe"


def page_url(settings: Settings) -> str:
    """The page's address as users reach it: `notifications.subscribe_page`, or in development
    the webhook's own (http://<server.bind>/subscribe)."""
    if settings.notifications.subscribe_page:
        return settings.notifications.subscribe_page
    host, _, port = settings.server.bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}{PATH}"  # noqa: S104 - reading, not binding


def subscribe_link(settings: Settings) -> str:
    """The page's address for the reply after a binding is submitted; empty when neither an
    approval nor a rejection goes out as a subscription notice (nothing to subscribe to then)."""
    kinds = settings.notifications.kinds()
    return page_url(settings) if kinds["approved"].subscribes or kinds["rejected"].subscribes else ""
