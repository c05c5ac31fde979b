"""A queued message's entry: sealed (AES-GCM, bound to its delivery), and still opened when it was
sealed with Fernet before this format."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet

from bot.webhook.envelope import Envelope
from bot.webhook.queued import QueueCodec
from tests.conftest import CONVERSATION_KEY

ENVELOPE = Envelope("<xml><Content><![CDATA[我的身份证 11010519491231002X]]></Content></xml>", True, "1700000000", "n1")


def test_an_entry_round_trips_and_shows_nothing_of_the_message() -> None:
    codec = QueueCodec(CONVERSATION_KEY, clock=lambda: 1_700_000_000.5)
    entry = codec.pack("wxbot:wx:delivery:abc", ENVELOPE)
    assert entry.startswith("wxbot:wx:delivery:abc|") and "11010519491231002X" not in entry
    assert codec.unpack(entry).envelope == ENVELOPE and codec.unpack(entry).queued_at == 1_700_000_000.5
    assert codec.pack("wxbot:wx:delivery:abc", ENVELOPE) != entry   # a fresh nonce each time


def test_an_entry_moved_to_another_delivery_or_sealed_with_another_key_is_not_opened() -> None:
    codec = QueueCodec(CONVERSATION_KEY)
    sealed = codec.pack("wxbot:wx:delivery:abc", ENVELOPE).partition("|")[2]
    moved = codec.unpack(f"wxbot:wx:delivery:xyz|{sealed}")
    assert (moved.delivery_key, moved.envelope) == ("wxbot:wx:delivery:xyz", None)
    rotated = QueueCodec(Fernet.generate_key().decode()).unpack(f"wxbot:wx:delivery:abc|{sealed}")
    assert rotated.envelope is None
    assert QueueCodec(CONVERSATION_KEY).unpack("wxbot:wx:delivery:abc|g1.not base64!").envelope is None


def test_an_entry_sealed_with_fernet_before_this_format_is_opened() -> None:
    payload = json.dumps([ENVELOPE.xml, True, "1700000000", "n1", 1_700_000_000.0], ensure_ascii=False)
    entry = f"wxbot:wx:delivery:abc|{Fernet(CONVERSATION_KEY.encode()).encrypt(payload.encode()).decode()}"
    assert QueueCodec(CONVERSATION_KEY).unpack(entry).envelope == ENVELOPE
