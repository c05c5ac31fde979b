"""wechatpy's client, made safe for many workers.

wechatpy 1.8.18 fetches tokens from /cgi-bin/token per process, ignores the timeout there, and
retries 40001 without bound. Here the token comes from `SharedAccessToken`, one invalid-token
answer leads to one refresh and one retry, and every call has a timeout.
"""

from __future__ import annotations

import logging

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.config import Settings
from bot.store.keys import Keys
from bot.wechat.token import SharedAccessToken

# urllib3 logs request URLs at DEBUG, and WeChat's URLs carry the access token.
logging.getLogger("urllib3").setLevel(logging.WARNING)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})


class WeChatAPI(WeChatClient):
    def __init__(self, appid: str, secret: str, *, base_url: str, timeout: float,
                 tokens: SharedAccessToken | None = None, session: requests.Session | None = None) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        if session is not None:
            self._http = session   # e.g. one whose pool keeps a connection per sender thread
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self.tokens = tokens

    @property
    def access_token(self) -> str:
        if self.tokens is None:
            raise RuntimeError("WeChatAPI needs a SharedAccessToken")
        return self.tokens.get()

    def fetch_stable_token(self, force_refresh: bool) -> tuple[str, int]:
        result = self._http.post(
            f"{self.API_BASE_URL}stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                  "force_refresh": force_refresh},
            timeout=self.timeout,
        )
        result.raise_for_status()
        data = result.json()
        if data.get("errcode"):
            raise WeChatClientException(data["errcode"], data.get("errmsg", ""), client=self)
        return data["access_token"], int(data.get("expires_in", 7200))

    def _request(self, method, url_or_endpoint, **kwargs):  # noqa: ANN001, ANN003, ANN202 - wechatpy's signature
        token = self.access_token
        params = dict(kwargs.pop("params", None) or {})
        params["access_token"] = token
        try:
            return super()._request(method, url_or_endpoint, params=params, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        params["access_token"] = self.tokens.replace(rejected=token)
        return super()._request(method, url_or_endpoint, params=params, **kwargs)

    def fetch_jsapi_ticket(self) -> tuple[str, int]:
        """A jsapi_ticket for the JS-SDK and how long it lasts (bot/wechat/ticket.py shares it)."""
        data = self.get("ticket/getticket", params={"type": "jsapi"})
        return data["ticket"], int(data.get("expires_in", 7200))

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (allowed within 48 h of the user's last message)."""
        self.message.send_text(openid, content)


def wechat_api(settings: Settings, client, session: requests.Session | None = None) -> WeChatAPI:  # noqa: ANN001 - a redis.Redis
    """The client every process uses, its token shared through `client` (Redis)."""
    api = WeChatAPI(settings.wechat.appid, settings.wechat.secret, base_url=settings.wechat.api_base_url,
                    timeout=settings.wechat.api_timeout, session=session)
    api.tokens = SharedAccessToken(client, Keys.of(settings),
                                   api.fetch_stable_token)
    return api
