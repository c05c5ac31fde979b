"""Drive the /wechat endpoint as WeChat does, through Flask's test client."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from werkzeug.test import TestResponse

from bot.simulator.wechat_side import Delivery, WeChatSide


@dataclass
class Webhook:
    app: Flask
    side: WeChatSide

    def post(self, delivery: Delivery) -> TestResponse:
        return self.app.test_client().post(f"/wechat?{delivery.query}", data=delivery.body,
                                           content_type="text/xml")

    def send(self, xml: str, openid: str = "o_user") -> TestResponse:
        return self.post(self.side.deliver(xml, openid))

    def say(self, text: str, openid: str = "o_user") -> dict:
        response = self.send(self.side.text_xml(openid, text), openid)
        assert response.status_code == 200, response.text
        return self.side.open_reply(response.text)
