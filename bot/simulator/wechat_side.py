"""Play WeChat's side of the webhook: build signed (and, in safe mode, encrypted) deliveries
exactly as WeChat's servers do, post them, and open the replies. Used by `wxbot say`, the tests,
and the simulator (bot/simulator/) — so every simulated message goes through the real endpoint.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

import requests
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot.config import WechatSettings
from bot.webhook.envelope import parse_xml
from bot.webhook.replies import cdata_safe
from bot.webhook.signing import wechat_signature
from handlers.subscription_events import CONTAINERS

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


@dataclass(frozen=True)
class Delivery:
    """One POST as WeChat would send it."""
    query: str
    body: bytes


class WeChatSide:
    """`mode`: plaintext, compatible (plaintext fields and ciphertext side by side) or safe;
    by default safe when the settings have an AES key, else plaintext."""

    def __init__(self, settings: WechatSettings, account: str = "gh_local_account",
                 mode: str | None = None, fake_api: str | None = None) -> None:
        self.token = settings.token
        self.fake_api = fake_api  # tell the fake WeChat API about interactions, as WeChat knows them
        self.account = account
        self.mode = mode or ("safe" if settings.safe_mode else "plaintext")
        self.crypto = (WeChatCrypto(settings.token, settings.encoding_aes_key, settings.appid)
                       if settings.safe_mode else None)

    # -- building deliveries ------------------------------------------------------------------
    def text_xml(self, openid: str, content: str, msg_id: int | None = None,
                 create_time: int | None = None) -> str:
        return self._xml(openid, "text", create_time,
                         f"<Content><![CDATA[{cdata_safe(content)}]]></Content>"
                         f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")

    def image_xml(self, openid: str, media_id: str, pic_url: str, msg_id: int | None = None) -> str:
        return self._xml(openid, "image", None,
                         f"<PicUrl><![CDATA[{cdata_safe(pic_url)}]]></PicUrl>"
                         f"<MediaId><![CDATA[{cdata_safe(media_id)}]]></MediaId><MsgId>{msg_id or next(_msg_ids)}</MsgId>")

    def voice_xml(self, openid: str, recognition: str, media_id: str = "voice-media",
                  msg_id: int | None = None) -> str:
        """A voice message; WeChat adds `Recognition` (the words it heard) when the account has
        speech recognition on — empty when it heard nothing."""
        return self._xml(openid, "voice", None,
                         f"<MediaId><![CDATA[{cdata_safe(media_id)}]]></MediaId><Format><![CDATA[amr]]></Format>"
                         f"<Recognition><![CDATA[{cdata_safe(recognition)}]]></Recognition>"
                         f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")

    def event_xml(self, openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
        extra = f"<Event><![CDATA[{event}]]></Event>"
        if key:
            extra += f"<EventKey><![CDATA[{cdata_safe(key)}]]></EventKey>"
        return self._xml(openid, "event", create_time, extra)

    def subscription_event_xml(self, openid: str, event: str, items: list[dict[str, str]],
                               create_time: int | None = None) -> str:
        """An event about subscription notices (subscribe_msg_popup_event, …_change_event,
        …_sent_event): its templates as <List> items, as WeChat sends them."""
        container = CONTAINERS[event]
        listed = "".join("<List>" + "".join(f"<{name}><![CDATA[{cdata_safe(value)}]]></{name}>"
                                            for name, value in item.items()) + "</List>" for item in items)
        return self._xml(openid, "event", create_time,
                         f"<Event><![CDATA[{event}]]></Event><{container}>{listed}</{container}>")

    def _xml(self, openid: str, msg_type: str, create_time: int | None, extra: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<FromUserName><![CDATA[{cdata_safe(openid)}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>")

    def deliver(self, xml: str, openid: str, timestamp: int | None = None) -> Delivery:
        timestamp_s, nonce = str(timestamp or int(time.time())), secrets.token_hex(5)
        params = {"signature": wechat_signature(self.token, timestamp_s, nonce),
                  "timestamp": timestamp_s, "nonce": nonce, "openid": openid}
        if self.mode == "plaintext":
            return Delivery(urlencode(params), xml.encode("utf-8"))
        sealed = parse_xml(self.crypto.encrypt_message(xml, nonce, timestamp_s))
        params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        encrypt = f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
        if self.mode == "compatible":
            body = xml.replace("</xml>", f"{encrypt}</xml>")
        else:
            body = f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>{encrypt}</xml>"
        return Delivery(urlencode(params), body.encode("utf-8"))

    # -- reading replies ----------------------------------------------------------------------
    def open_reply(self, body: str) -> dict:
        """The reply as a dict of its fields ({} for `success` or an empty body)."""
        if body in ("", "success"):
            return {}
        if self.crypto is not None:
            outer = parse_xml(body.encode("utf-8"))
            # wechatpy checks MsgSignature against the ciphertext before decrypting.
            body = self.crypto.decrypt_message(outer, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        return dict(parse_message(body)._data)

    def post(self, base_url: str, delivery: Delivery, timeout: float = 10) -> requests.Response:
        if self.fake_api:
            self.interacted(parse_qs(delivery.query)["openid"][0],
                            "event" if b"<MsgType><![CDATA[event]]>" in delivery.body else "message")
        return requests.post(f"{base_url}/wechat?{delivery.query}", data=delivery.body, timeout=timeout,
                             headers={"Content-Type": "text/xml"})

    def interacted(self, openid: str, kind: str = "message") -> None:
        """What WeChat's servers know when a user writes: the customer-service window opens."""
        try:
            requests.post(f"{self.fake_api}/fake/interact", json={"openid": openid, "kind": kind}, timeout=2)
        except requests.RequestException:
            pass  # no fake API running (a real account): nothing to tell

    def say(self, base_url: str, openid: str, content: str) -> dict:
        response = self.post(base_url, self.deliver(self.text_xml(openid, content), openid))
        response.raise_for_status()
        return self.open_reply(response.text)
