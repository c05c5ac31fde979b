"""GET /subscribe: the subscribe page, signed for the JS-SDK (`wx.config`) with the jsapi_ticket
at the address users reach it by. Without a ticket (WeChat or Redis unreachable) the page still
answers, saying that subscribing is not possible now."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
import requests
from flask import Blueprint, Flask, Response, current_app, render_template, request
from wechatpy.exceptions import WeChatClientException

from bot.config import Settings
from bot.logs import log
from bot.store.keys import Keys
from bot.subscribe_page import PATH, page_url
from bot.wechat import jssdk
from bot.wechat.client import WeChatAPI
from bot.wechat.ticket import SharedJsapiTicket, TicketUnavailable
from flows.texts import subscribe as t

blueprint = Blueprint("subscribe_page", __name__, template_folder="templates")


@dataclass(frozen=True)
class SubscribePage:
    settings: Settings
    ticket: SharedJsapiTicket


@blueprint.get(PATH)
def page() -> Response:
    subscribe: SubscribePage = current_app.extensions["subscribe_page"]
    settings = subscribe.settings
    notices = settings.notifications.subscribed_notices()
    config = None
    if notices:
        # WeChat signs the address the browser shows: the configured one's, with this request's query.
        query = request.query_string.decode("latin-1")
        url = page_url(settings).split("?")[0] + (f"?{query}" if query else "")
        try:
            config = jssdk.page_config(settings.wechat.appid, subscribe.ticket.get(), url, time.time())
        except (TicketUnavailable, WeChatClientException, requests.RequestException, redis.RedisError) as exc:
            # The exception's text may carry the token-bearing URL: its type only.
            log.warning("subscribe_page_unsigned", error=type(exc).__name__)
    body = render_template("subscribe_page.html", t=t, notices=notices, config=config,
                           templates=[notice.template_id for notice in notices],
                           long_term=bool(notices) and notices[0].long_term,
                           stand_in=settings.server.environment == "development")
    # Signed for this moment, with a nonce of its own: never served from a cache.
    return Response(body, mimetype="text/html", headers={"Cache-Control": "no-store"})


def install(app: Flask, settings: Settings, client: redis.Redis, wechat: WeChatAPI) -> None:
    """The page on the webhook's app, its ticket shared through Redis like the access token."""
    # A page waits for another process's fetch about as long as one fetch may take, no longer.
    ticket = SharedJsapiTicket(client, Keys.of(settings), wechat.fetch_jsapi_ticket,
                               lock_wait=settings.wechat.api_timeout + 1)
    app.extensions["subscribe_page"] = SubscribePage(settings, ticket)
    app.register_blueprint(blueprint)
