"""From a raw request to the plaintext message XML, and from a reply back to the wire.

Plaintext mode: `signature` covers token/timestamp/nonce only. Safe and compatible mode
(`encrypt_type=aes`): `msg_signature` also covers the ciphertext, and replies are encrypted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.config import WechatSettings
from bot.webhook.signing import signature_matches, timestamp_is_fresh, wechat_signature


class Rejected(Exception):
    """The request is refused with an HTTP status; `reason` is safe to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    xml: str
    encrypted: bool
    timestamp: str
    nonce: str


class EnvelopeCodec:
    def __init__(self, settings: WechatSettings, timestamp_window: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = settings.token
        self.window = timestamp_window
        self.clock = clock
        self.crypto = (WeChatCrypto(settings.token, settings.encoding_aes_key, settings.appid)
                       if settings.safe_mode else None)

    def check_url(self, args: dict[str, str]) -> str:
        """GET verification: a valid signature proves the request is WeChat's; echo `echostr`."""
        timestamp, nonce = self._stamp(args)
        echostr = args.get("echostr")
        if echostr is None:
            raise Rejected(400, "missing echostr")
        if not signature_matches(wechat_signature(self.token, timestamp, nonce), args.get("signature")):
            raise Rejected(403, "bad signature")
        return echostr

    def open(self, args: dict[str, str], body: bytes) -> Envelope:
        timestamp, nonce = self._stamp(args)
        if args.get("encrypt_type", "raw").lower() == "aes":
            return self._open_encrypted(args, body, timestamp, nonce)
        if self.crypto is not None:
            # With a key configured, a plaintext delivery would let a captured signature carry a
            # forged body (the plaintext signature does not cover it): refuse the downgrade.
            raise Rejected(403, "plaintext delivery while safe mode is configured")
        if not signature_matches(wechat_signature(self.token, timestamp, nonce), args.get("signature")):
            raise Rejected(403, "bad signature")
        return Envelope(_text(body), encrypted=False, timestamp=timestamp, nonce=nonce)

    def _open_encrypted(self, args: dict[str, str], body: bytes, timestamp: str, nonce: str) -> Envelope:
        if self.crypto is None:
            raise Rejected(400, "encrypted delivery but no encoding_aes_key is configured")
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise Rejected(400, "missing Encrypt")
        expected = wechat_signature(self.token, timestamp, nonce, encrypt)
        if not signature_matches(expected, args.get("msg_signature")):
            raise Rejected(403, "bad msg_signature")
        try:
            xml = self.crypto.decrypt_message({"Encrypt": encrypt}, expected, timestamp, nonce)
        except InvalidAppIdException:
            raise Rejected(400, "ciphertext for another appid") from None
        except Exception:  # noqa: BLE001 - any failure to decrypt untrusted bytes is the sender's fault
            raise Rejected(400, "bad ciphertext") from None
        return Envelope(xml, encrypted=True, timestamp=timestamp, nonce=nonce)

    def seal(self, reply_xml: str, envelope: Envelope) -> str:
        """Encrypt a reply when the delivery was encrypted; `success` is never encrypted."""
        if not envelope.encrypted or reply_xml == "success" or self.crypto is None:
            return reply_xml
        return self.crypto.encrypt_message(reply_xml, envelope.nonce, str(int(time.time())))

    def _stamp(self, args: dict[str, str]) -> tuple[str, str]:
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses. The nonce goes
        # back into the encrypted reply's XML (and its signature): a control character, `<`, `&`
        # or a space (which XML readers strip) made a signed delivery's reply unreadable.
        if not re.fullmatch(r"[0-9]{1,12}", timestamp) or not re.fullmatch(r"[!-~]{1,64}", nonce) \
                or re.search(r"[<>&]", nonce):
            raise Rejected(400, "missing or malformed timestamp/nonce")
        if not timestamp_is_fresh(timestamp, self.window, self.clock()):
            raise Rejected(403, "timestamp outside the window")
        return timestamp, nonce


def parse_xml(data: bytes | str) -> dict:
    """Parse the `<xml>` root of untrusted input; entities are refused (no XXE, no bombs)."""
    # WeChat sends UTF-8. Bytes handed to expat would be read in the encoding their declaration
    # names: an unknown one (encoding="x") raised LookupError, a 500 before any signature check,
    # and latin-1 misread the text. Decoded first, the declaration is ignored as in plaintext mode.
    if isinstance(data, bytes):
        data = _text(data)
    try:
        root = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError, LookupError, UnicodeDecodeError, TypeError):
        raise Rejected(400, "malformed XML") from None
    xml = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(xml, dict):
        raise Rejected(400, "no <xml> root")
    return xml


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
