"""Signatures, the timestamp window and the three modes, against WeChat's published sample."""

from __future__ import annotations

import time

import pytest

from bot.config import WechatSettings
from bot.simulator.wechat_side import WeChatSide
from bot.webhook.envelope import EnvelopeCodec, Rejected
from bot.webhook.inbound import parse_inbound
from bot.webhook.signing import wechat_signature

# WeChat's own sample for message encryption (WXBizMsgCrypt demo, compatible mode: the
# plaintext fields and the Encrypt field side by side).
SAMPLE_SETTINGS = WechatSettings(appid="wx2c2769f8efd9abc2", token="spamtest",
                                 encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1409735669", "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_BODY = (
    b"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    b"</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    b"</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655Hu"
    b"D0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyy"
    b"Xwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0Vx"
    b"pAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM"
    b"669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
)


def sample_codec(now: float = 1409735669) -> EnvelopeCodec:
    return EnvelopeCodec(SAMPLE_SETTINGS, timestamp_window=300, clock=lambda: now)


def sample_args(**changes: str) -> dict[str, str]:
    args = {"timestamp": SAMPLE_TIMESTAMP, "nonce": SAMPLE_NONCE, "encrypt_type": "aes",
            "msg_signature": SAMPLE_MSG_SIGNATURE,
            "signature": wechat_signature("spamtest", SAMPLE_TIMESTAMP, SAMPLE_NONCE)}
    args.update(changes)
    return args


def test_wechats_sample_message_decrypts_in_compatible_mode() -> None:
    envelope = sample_codec().open(sample_args(), SAMPLE_BODY)
    inbound = parse_inbound(envelope.xml)
    assert envelope.encrypted
    assert inbound.field("Content") == "abcdteT"
    assert inbound.openid == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert inbound.delivery_id == "msg|oyORnuP8q7ou2gfYjqLzSIWZf0rs|6054768590064713728"


def test_wechats_sample_with_a_wrong_msg_signature_is_refused() -> None:
    with pytest.raises(Rejected) as caught:
        sample_codec().open(sample_args(msg_signature="0" * 40), SAMPLE_BODY)
    assert caught.value.status == 403


def test_wechats_sample_replayed_a_day_later_is_refused() -> None:
    with pytest.raises(Rejected) as caught:
        sample_codec(now=1409735669 + 86400).open(sample_args(), SAMPLE_BODY)
    assert caught.value.status == 403
    assert "window" in caught.value.reason


@pytest.mark.parametrize("skew, accepted", [(0, True), (299, True), (-299, True), (301, False), (-301, False)])
def test_timestamp_window_edges(skew: int, accepted: bool) -> None:
    codec = sample_codec(now=int(SAMPLE_TIMESTAMP) + skew)
    if accepted:
        codec.open(sample_args(), SAMPLE_BODY)
    else:
        with pytest.raises(Rejected):
            codec.open(sample_args(), SAMPLE_BODY)


def test_safe_mode_reply_is_encrypted_and_opens_with_the_same_key() -> None:
    codec = EnvelopeCodec(SAMPLE_SETTINGS, 300)
    side = WeChatSide(SAMPLE_SETTINGS)
    delivery = side.deliver(side.text_xml("o_user", "你好"), "o_user")
    from urllib.parse import parse_qsl
    envelope = codec.open(dict(parse_qsl(delivery.query)), delivery.body)
    sealed = codec.seal("<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content>"
                        "<ToUserName><![CDATA[o_user]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>"
                        "<CreateTime>1</CreateTime></xml>", envelope)
    assert "收到" not in sealed and "<Encrypt>" in sealed
    assert side.open_reply(sealed)["Content"] == "收到"


def test_plaintext_delivery_is_refused_when_safe_mode_is_configured() -> None:
    ts = str(int(time.time()))
    args = {"timestamp": ts, "nonce": "n", "signature": wechat_signature("spamtest", ts, "n")}
    with pytest.raises(Rejected) as caught:
        EnvelopeCodec(SAMPLE_SETTINGS, 300).open(args, b"<xml></xml>")
    assert caught.value.status == 403


def test_url_verification_echoes_only_with_a_valid_signature() -> None:
    codec = EnvelopeCodec(SAMPLE_SETTINGS, 300)
    ts = str(int(time.time()))
    good = {"timestamp": ts, "nonce": "abc", "echostr": "e123", "signature": wechat_signature("spamtest", ts, "abc")}
    assert codec.check_url(good) == "e123"
    with pytest.raises(Rejected) as caught:
        codec.check_url({**good, "signature": wechat_signature("other", ts, "abc")})
    assert caught.value.status == 403


def test_two_events_of_one_kind_in_one_second_are_two_deliveries_and_a_retry_is_one() -> None:
    """Subscription receipts for two templates, sent to one user in the same second, are two
    events; WeChat's retry of either is the same delivery."""
    def receipt(template: str) -> str:
        return ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
                "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                "<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List>"
                f"<TemplateId><![CDATA[{template}]]></TemplateId><MsgID>1</MsgID>"
                "<ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus>"
                "</List></SubscribeMsgSentEvent></xml>")
    first, second = parse_inbound(receipt("TPL_A")), parse_inbound(receipt("TPL_B"))
    assert first.delivery_id != second.delivery_id
    assert parse_inbound(receipt("TPL_A")).delivery_id == first.delivery_id
