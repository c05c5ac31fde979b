"""Hypothesis strategies and checks for fuzzing the /wechat endpoint (tests/test_fuzz_webhook.py).

WeChat's side of every delivery is built here by hand, not with `WeChatSide.deliver`, so that a
test can choose the nonce and the timestamp, encrypt bytes that are not UTF-8, and break the
envelope in ways WeChat never would.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import struct
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask
from hypothesis import strategies as st
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES

from bot.simulator.wechat_side import WeChatSide
from bot.webhook.envelope import parse_xml
from bot.webhook.replies import cdata_safe
from bot.webhook.signing import wechat_signature
from flows.domain.identity import _CHECK, _WEIGHTS
from flows.texts import apologies
from handlers.router import CLICK_ANSWERS
from tests.support.binding import ROSTER
from tests.support.chat import CLICK_KEYS, START_WORDS

ID_NUMBER = re.compile(r"\d{17}[\dXx]")
DEADLINE = 5.0   # WeChat's: a reply later than this is no reply
_serial = itertools.count(1)


def unique(prefix: str = "") -> str:
    """A tag no other delivery of this test session carries (openids, message ids, nonces). Always
    as long: when hypothesis replays an example, later draws must not depend on the counter."""
    return f"{prefix}{next(_serial):09d}"


# -- text --------------------------------------------------------------------------------------
# Characters XML 1.0 allows (expat refuses the others even as character references).
XML_CHARS = st.characters(blacklist_categories=("Cs",),
                          blacklist_characters="".join(map(chr, [*range(0x00, 0x09), 0x0b, 0x0c,
                                                                  *range(0x0e, 0x20), 0xfffe, 0xffff])))
XML_TEXT = st.text(XML_CHARS, max_size=40)
TRICKY = ["]]>", "]]]]><![CDATA[>", "<![CDATA[", "&amp;", "&lt;xml&gt;", "</xml>", "<xml>", "\r\n", "\r",
          "&#13;", "\u2028", "\ufeff", "\U0001F600", "𠮷", "中文", "%s%n", "{0}", "${x}", " ", "\t", "'\"",
          "<Content>x</Content>", "<MsgType>event</MsgType>"]


def check_char(body17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(body17, _WEIGHTS, strict=False)) % 11]


@st.composite
def id_numbers(draw) -> str:
    """Valid-looking resident ID numbers (checksum right): the roster's and random ones."""
    if draw(st.booleans()):
        return draw(st.sampled_from(sorted(p.id_number for p in ROSTER.values())))
    body = draw(st.from_regex(r"[1-6][0-9]{5}(19[5-9][0-9]|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
                              fullmatch=True))
    return body + check_char(body)


USER_TEXT = st.one_of(
    XML_TEXT,
    st.sampled_from(TRICKY),
    id_numbers(),
    st.builds(lambda a, n, b: f"{a}{n}{b}", XML_TEXT, id_numbers(), XML_TEXT),
    st.sampled_from(sorted(START_WORDS)),
    st.lists(st.sampled_from(TRICKY), max_size=5).map("".join),
)


# -- XML ---------------------------------------------------------------------------------------
@st.composite
def encoded_text(draw, text: str) -> str:
    """`text` as XML character data in one of the ways a sender may write it."""
    how = draw(st.sampled_from(["escaped", "cdata", "split-cdata", "charrefs", "mixed"]))
    if how == "escaped":
        return escape(text)
    if how == "cdata":
        return f"<![CDATA[{cdata_safe(text)}]]>" if "\r" not in text else escape(text)
    if how == "split-cdata":
        cut = draw(st.integers(0, len(text)))
        return f"<![CDATA[{cdata_safe(text[:cut])}]]><![CDATA[{cdata_safe(text[cut:])}]]>"
    if how == "charrefs":
        return "".join(f"&#{ord(c)};" if draw(st.booleans()) else f"&#x{ord(c):x};" for c in text)
    cut = draw(st.integers(0, len(text)))
    return escape(text[:cut]) + (f"<![CDATA[{cdata_safe(text[cut:])}]]>" if "\r" not in text[cut:]
                                 else escape(text[cut:]))


MESSAGE_FIELDS = {
    "text": ["Content"],
    "image": ["PicUrl", "MediaId"],
    "voice": ["MediaId", "Format", "Recognition"],
    "video": ["MediaId", "ThumbMediaId"],
    "shortvideo": ["MediaId", "ThumbMediaId"],
    "location": ["Location_X", "Location_Y", "Scale", "Label"],
    "link": ["Title", "Description", "Url"],
    "miniprogrampage": ["Title", "AppId", "PagePath", "ThumbUrl", "ThumbMediaId"],
}
EVENT_FIELDS = ["EventKey", "Ticket", "Latitude", "Longitude", "Precision", "MsgID", "Status", "MenuId"]
NESTED = {
    "ScanCodeInfo": "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>{v}</ScanResult></ScanCodeInfo>",
    "SendPicsInfo": "<SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>{v}</PicMd5Sum></item></PicList>"
                    "</SendPicsInfo>",
    "SendLocationInfo": "<SendLocationInfo><Location_X>23</Location_X><Label>{v}</Label></SendLocationInfo>",
}
# Every event wechatpy knows, the ones it does not, and the menu's clicks and keys.
EVENTS = sorted(EVENT_TYPES) + ["subscribe_msg_popup_event", "subscribe_msg_sent_event", "not_an_event"]
EVENT_KEYS = sorted(CLICK_KEYS) + sorted(CLICK_ANSWERS) + ["qrscene_123", "scanbarcode|x", "scanimage|y", "UNKNOWN"]
NUMBERISH = st.one_of(st.integers(-10**30, 10**30).map(str), st.floats(allow_nan=True).map(str), XML_TEXT)


def cased(draw, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.capitalize()]))


@dataclass(frozen=True)
class Message:
    """A well-formed message WeChat could send: it must be answered."""
    xml: str
    openid: str       # FromUserName as a parser reads it
    account: str      # ToUserName as a parser reads it
    msg_type: str

    @classmethod
    def of(cls, xml: str) -> Message:
        parsed = parse_xml(xml)
        return cls(xml, parsed["FromUserName"], parsed["ToUserName"], parsed["MsgType"].lower())


@st.composite
def messages(draw, msg_types: list[str] | None = None) -> Message:
    """Well-formed messages and events of every type, with every field WeChat may send (and some
    it does not), in any order, values escaped or in CDATA; the required fields always valid."""
    msg_type = draw(st.sampled_from(msg_types or [*sorted(MESSAGE_TYPES), "event", "event", "event",
                                                  "device_text", "unknown_type"]))
    openid = draw(st.one_of(st.from_regex(r"o[A-Za-z0-9_-]{10,27}", fullmatch=True), XML_TEXT)) + unique("-o")
    account = draw(st.one_of(st.just("gh_local_account"), XML_TEXT)) + "gh"
    fields = [("ToUserName", draw(encoded_text(account))), ("FromUserName", draw(encoded_text(openid))),
              ("CreateTime", str(draw(st.integers(0, 10**12 - 1)))), ("MsgType", cased(draw, msg_type))]
    if msg_type == "event":
        event = draw(st.sampled_from(EVENTS))
        fields.append(("Event", draw(encoded_text(cased(draw, event)))))
        for name in draw(st.lists(st.sampled_from(EVENT_FIELDS), unique=True, max_size=4)):
            value = draw(st.one_of(st.sampled_from(EVENT_KEYS), NUMBERISH, USER_TEXT))
            fields.append((name, draw(encoded_text(value))))
        for name in draw(st.lists(st.sampled_from(sorted(NESTED)), unique=True, max_size=2)):
            fields.append((name, NESTED[name].format(v=escape(draw(XML_TEXT)))))
    else:
        for name in draw(st.lists(st.sampled_from(MESSAGE_FIELDS.get(msg_type, ["Content"])), unique=True)):
            fields.append((name, draw(encoded_text(draw(USER_TEXT if name == "Content" else
                                                         st.one_of(XML_TEXT, NUMBERISH))))))
        fields.append(("MsgId", unique(str(draw(st.integers(1, 10**6))))))
    if draw(st.booleans()):
        fields.append((draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)), escape(draw(XML_TEXT))))
    order = draw(st.permutations(range(len(fields))))
    blank = draw(st.sampled_from(["", "\n", " ", "\r\n  "]))
    inner = blank.join(f"<{fields[i][0]}>{fields[i][1]}</{fields[i][0]}>" for i in order)
    xml = f"<xml>{blank}{inner}{blank}</xml>"
    return Message.of(xml)  # the names as any XML parser reads them: whitespace stripped, references resolved


XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
       "<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>")
PARAMETER_ENTITY = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
                    "<xml><MsgType>text</MsgType></xml>")
EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml><MsgType>text</MsgType></xml>'

def _laughs(levels: int = 9) -> str:
    entities = ['<!ENTITY lol1 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(2, levels + 1)]
    return ('<?xml version="1.0"?><!DOCTYPE lolz [' + "".join(entities) + "]>"
            f"<xml><Content>&lol{levels};</Content></xml>")


LAUGHS = _laughs()
QUADRATIC = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "' + "x" * 5000 + '">]><xml><Content>'
             + "&a;" * 10 + "</Content></xml>")
HOSTILE = [XXE, PARAMETER_ENTITY, EXTERNAL_DTD, LAUGHS, QUADRATIC,
           "<xml><Content>&undefined;</Content></xml>", "<?xml-stylesheet href='x'?><xml/>", "<xml/>",
           "<xml>text</xml>", "<xml><xml></xml></xml>", "<!-- --><xml><!-- c --></xml>",
           '<xml xmlns="urn:x"><MsgType>text</MsgType></xml>', "<a:xml xmlns:a='u'><a:MsgType>t</a:MsgType></a:xml>",
           "<xml><MsgType/></xml>", "<xml><MsgType><![CDATA[]]></MsgType></xml>", "<xml>" * 3000,
           "<xml>" * 3000 + "</xml>" * 3000]


@st.composite
def elements(draw, depth: int = 0) -> str:
    """Random XML-ish trees: known and unknown tags, attributes, text, CDATA, comments, references;
    sometimes broken on purpose."""
    name = draw(st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Content",
                                 "Event", "EventKey", "Encrypt", "xml", "item", "a:b", "x-y", "1bad", ""]))
    attrs = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in
                    draw(st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), XML_TEXT, max_size=2)).items())
    children = draw(st.lists(st.one_of(
        XML_TEXT.map(escape), XML_TEXT.map(lambda t: f"<![CDATA[{cdata_safe(t)}]]>"),
        st.sampled_from(["&amp;", "&#20013;", "&#x1F600;", "&#0;", "&bogus;", "<!-- x -->", "<?pi x?>", "]]>",
                         "<![CDATA[", "&", "<", "\x00", "\ufffe"]),
        *([elements(depth + 1)] if depth < 3 else [])), max_size=4))
    inner = "".join(children)
    return draw(st.sampled_from([f"<{name}{attrs}>{inner}</{name}>", f"<{name}{attrs}/>", f"<{name}>{inner}",
                                 f"{inner}</{name}>"]))


@st.composite
def documents(draw) -> str:
    """XML that WeChat would never send: random trees, hostile DTDs, messages with fields missing,
    repeated, nested, or of the wrong type."""
    kind = draw(st.sampled_from(["tree", "hostile", "fields"]))
    if kind == "tree":
        return f"<xml>{''.join(draw(st.lists(elements(), max_size=6)))}</xml>"
    if kind == "hostile":
        return draw(st.sampled_from(HOSTILE))
    message = draw(messages())
    root = parse_xml(message.xml)
    names = list(root)
    fields = [(n, escape(root[n]) if isinstance(root[n], str) else "") for n in names]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "repeat", "nest", "garbage", "empty", "attribute", "rename"]))
        i = draw(st.integers(0, len(fields) - 1)) if fields else None
        if i is None:
            break
        name, value = fields[i]
        if op == "drop":
            del fields[i]
        elif op == "repeat":
            fields.insert(i, (name, draw(st.sampled_from([value, escape(draw(XML_TEXT))]))))
        elif op == "nest":
            fields[i] = (name, f"<{name}>{value}</{name}><b>{value}</b>")
        elif op == "garbage":
            fields[i] = (name, escape(draw(st.one_of(NUMBERISH, st.sampled_from(
                ["１２３", "²", "-1", "1e3", "0x10", " 12 ", "1" * 30, "١٢٣", "12.0", ""])))))
        elif op == "empty":
            fields[i] = (name, "")
        elif op == "attribute":
            fields[i] = (f'{name} type="{escape(draw(XML_TEXT), {chr(34): "&quot;"})}"', value)
        else:
            fields[i] = (draw(st.sampled_from([name.lower(), name.upper(), name + "s", "_" + name])), value)
    return "<xml>" + "".join(f"<{n}>{v}</{n.split()[0]}>" for n, v in fields) + "</xml>"


# -- bytes on the wire ---------------------------------------------------------------------------
ENCODINGS = ["utf-8", "utf-8-declared", "bom", "gbk-declared-utf8", "gbk", "utf-16", "latin-1-declared",
             "bogus-declared", "invalid-bytes"]
INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80",
                b"\xe4\xb8", b"\x00"]


@st.composite
def encoded(draw, xml: str) -> tuple[str, bytes]:
    """The document as bytes in one of many encodings, declared or not, right or wrong."""
    how = draw(st.sampled_from(ENCODINGS))
    if how == "utf-8":
        return how, xml.encode()
    if how == "utf-8-declared":
        return how, b'<?xml version="1.0" encoding="UTF-8"?>' + xml.encode()
    if how == "bom":
        return how, b"\xef\xbb\xbf" + xml.encode()
    if how == "gbk-declared-utf8":
        return how, b'<?xml version="1.0" encoding="GBK"?>' + xml.encode()
    if how == "gbk":
        return how, b'<?xml version="1.0" encoding="GBK"?>' + xml.encode("gbk", errors="replace")
    if how == "utf-16":
        return how, xml.encode("utf-16")
    if how == "latin-1-declared":
        return how, b'<?xml version="1.0" encoding="ISO-8859-1"?>' + xml.encode("latin-1", errors="replace")
    if how == "bogus-declared":
        return how, b'<?xml version="1.0" encoding="x-no-such-charset"?>' + xml.encode()
    data = xml.encode()
    at = draw(st.integers(0, len(data)))
    return how, data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """`data` after a few random byte-level edits: what a broken proxy or an attacker might send."""
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        end = draw(st.integers(at, min(len(data), at + 40)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate", "flip"]))
        if op == "delete":
            data = data[:at] + data[end:]
        elif op == "insert":
            data = data[:at] + draw(st.one_of(st.binary(max_size=8), st.sampled_from(
                [b"<", b">", b"&", b"]]>", b"<![CDATA[", b"</xml>", b"<xml>", b"&lol;", b"\x00"]))) + data[at:]
        elif op == "replace":
            data = data[:at] + draw(st.binary(min_size=end - at, max_size=end - at)) + data[end:]
        elif op == "duplicate":
            data = data[:end] + data[at:end] + data[end:]
        elif op == "truncate":
            data = data[:at]
        elif data:
            i = min(at, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
    return data


# -- deliveries -----------------------------------------------------------------------------------
@dataclass
class Wire:
    """One POST: its query parameters (a value may be a list: the parameter repeated) and body."""
    params: dict[str, str | list[str]]
    body: bytes
    raw_query: str = ""   # appended as is (percent-encoded garbage)

    @property
    def query(self) -> str:
        query = urlencode(self.params, doseq=True)
        return f"{query}&{self.raw_query}" if self.raw_query else query


def sign(side: WeChatSide, xml: str | bytes, mode: str, timestamp: str | None = None,
         nonce: str | None = None, appid: str | None = None) -> Wire:
    """A delivery as WeChat sends it in `mode`: signed, and sealed in compatible and safe mode."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or unique("n")
    params: dict[str, str | list[str]] = {"signature": wechat_signature(side.token, timestamp, nonce),
                                          "timestamp": timestamp, "nonce": nonce, "openid": "o_fuzz"}
    raw = xml.encode() if isinstance(xml, str) else xml
    if mode == "plaintext":
        return Wire(params, raw)
    encrypt, _ = seal_bytes(side, raw, appid=appid)
    params.update(encrypt_type="aes", msg_signature=wechat_signature(side.token, timestamp, nonce, encrypt))
    return Wire(params, outer(side, raw if mode == "compatible" else None, encrypt))


def outer(side: WeChatSide, plaintext: bytes | None, encrypt: str) -> bytes:
    """Safe mode's body; compatible mode also carries the plaintext fields beside `Encrypt`."""
    tag = f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>".encode()
    if plaintext is not None and plaintext.rstrip().endswith(b"</xml>"):
        head, _, tail = plaintext.rpartition(b"</xml>")
        return head + tag + b"</xml>" + tail
    return f"<xml><ToUserName><![CDATA[{side.account}]]></ToUserName>".encode() + tag + b"</xml>"


def aes_key(side: WeChatSide) -> bytes:
    return side.crypto.key


def seal_bytes(side: WeChatSide, message: bytes, *, appid: str | bytes | None = None, prefix: bytes | None = None,
               length: int | None = None, padding: str = "pkcs7-32") -> tuple[str, bool]:
    """WeChat's envelope around raw bytes: base64(AES-256-CBC(16 random bytes + length + message +
    appid + padding)); `length`, `appid` and `padding` can be made wrong on purpose. Also says
    whether the padding's last byte counts exactly the bytes added (whatever their values)."""
    appid = side.crypto.app_id if appid is None else appid
    appid = appid.encode() if isinstance(appid, str) else appid
    plain = (prefix if prefix is not None else secrets.token_bytes(16)) \
        + struct.pack(">I", len(message) if length is None else length) + message + appid
    padded = pad(plain, padding)
    key = aes_key(side)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    sealed = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
    return sealed, padded[-1] == len(padded) - len(plain)


# How the plaintext is padded to AES's 16-byte blocks: WeChat's PKCS#7 to 32 bytes, and ways to get
# it wrong (which may still count right by chance: "inconsistent" when 2 bytes are added).
PADDINGS = ["pkcs7-32", "pkcs7-16", "zero-count", "too-large", "inconsistent", "zeros"]


def pad(plain: bytes, how: str) -> bytes:
    if how == "pkcs7-32":
        count = 32 - len(plain) % 32
        return plain + bytes([count]) * count
    if how == "pkcs7-16":
        count = 16 - len(plain) % 16
        return plain + bytes([count]) * count
    fill = 16 - len(plain) % 16 or 16
    if how == "zero-count":
        return plain + b"\x00" * fill
    if how == "too-large":
        return plain + b"\xff" * fill
    if how == "inconsistent":
        return plain + b"\x07" * (fill - 1) + b"\x02"
    return plain + b"\x00" * (fill - 1) + b"\x01"  # one byte of padding announced, zeros before it


# -- the endpoint and what every answer must be ------------------------------------------------------
@dataclass
class Answer:
    status: int
    text: str
    mimetype: str
    elapsed: float
    fields: dict = field(default_factory=dict)   # the opened reply ({} for `success` and refusals)


@dataclass
class Endpoint:
    """The /wechat endpoint of one app, with WeChat's side for opening its replies."""
    app: Flask
    side: WeChatSide
    errors: list[str] = field(default_factory=list)   # exceptions the handlers raised (see watch_route)

    @property
    def encrypted(self) -> bool:
        return self.side.crypto is not None

    def post(self, wire: Wire, content_type: str = "text/xml") -> Answer:
        started = time.monotonic()
        response = self.app.test_client().post(f"/wechat?{wire.query}", data=wire.body, content_type=content_type)
        return Answer(response.status_code, response.get_data(as_text=True), response.mimetype,
                      time.monotonic() - started)

    def get(self, query: str) -> Answer:
        started = time.monotonic()
        response = self.app.test_client().get(f"/wechat?{query}")
        return Answer(response.status_code, response.get_data(as_text=True), response.mimetype,
                      time.monotonic() - started)

    def exchange(self, wire: Wire) -> Answer:
        """Deliver twice, as WeChat's retry would: both copies answered alike, each valid."""
        first = self.check(self.post(wire))
        second = self.check(self.post(wire))
        assert (second.status, second.text) == (first.status, first.text), \
            f"a repeated delivery was answered differently:\n{first}\n{second}"
        return first

    def check(self, answer: Answer) -> Answer:
        """What holds for every answer, good request or bad."""
        assert answer.status in (200, 400, 403, 413), answer
        assert answer.elapsed < DEADLINE, f"answered after {answer.elapsed:.2f}s"
        assert not self.errors, "a handler raised:\n" + "\n".join(self.errors)
        if not (self.encrypted and answer.status == 200):  # (base64 has runs of digits)
            assert not ID_NUMBER.search(answer.text), f"an ID number in the answer: {answer.text!r}"
        if answer.status != 200:
            # A refusal: a short reason for the log, nothing of the request echoed, no reply XML.
            assert answer.mimetype == "text/plain" and 0 < len(answer.text) <= 80, answer
            assert answer.text.isascii() and answer.text.isprintable(), answer
            return answer
        if answer.text == "success":
            return answer
        if self.encrypted:
            assert "<Encrypt>" in answer.text and "<Content>" not in answer.text, answer.text
        else:
            assert "<Encrypt>" not in answer.text, answer.text
        answer.fields = self.side.open_reply(answer.text)
        assert answer.fields.get("MsgType") == "text", answer.fields
        content = answer.fields.get("Content") or ""
        assert content.strip(), answer.fields
        assert len(content.encode()) <= 2048, "over WeChat's limit for a text reply"
        assert apologies.ERROR not in content and apologies.BUSY not in content, content
        assert not ID_NUMBER.search(content), f"an ID number unmasked: {content!r}"
        return answer

    def answers(self, message: Message, answer: Answer) -> None:
        """A well-formed, correctly signed message gets a reply addressed back to its sender."""
        assert answer.status == 200, answer
        if answer.fields:
            assert answer.fields["ToUserName"] == read_back(message.openid), (answer.fields, message)
            assert answer.fields["FromUserName"] == read_back(message.account), (answer.fields, message)


def read_back(text: str) -> str:
    """`text` after a trip through reply XML: line ends normalised as XML parsers do."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def watch_route(app: Flask, errors: list[str]) -> None:
    """Record every exception a handler raises in `errors` (the processor turns them into a polite
    reply, so the answer alone would not show them)."""
    processor = app.extensions["wxbot"].processor
    route = processor.route

    def watched(inbound, session):
        try:
            return route(inbound, session)
        except Exception:
            errors.append(traceback.format_exc())
            raise

    processor.route = watched


def percent_garbage(data: bytes) -> str:
    return quote(data, safe="")
