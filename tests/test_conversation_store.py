"""Conversations in a real Redis: encrypted, revision-checked, expiring."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from bot.conversations.store import ConversationStore, StaleConversation
from bot.store.keys import Keys
from flows.engine import IDLE, Conversation

KEY = Fernet.generate_key().decode()


@pytest.fixture
def store(redis_client) -> ConversationStore:
    return ConversationStore(redis_client, Keys("wxbot", "wx_test"), KEY, ttl=72 * 3600)


DRAFT = Conversation(flow="bind_member", version=1, step="id_number",
                     data={"member_name": "李秀英", "member_id_number": "330106196408220224"},
                     history=("relationship", "member_name"), started_at=1.0, updated_at=2.0)


def test_round_trip_with_the_personal_data_encrypted_at_rest(store, redis_client) -> None:
    rev = store.save("o_user", DRAFT, 0)
    loaded, loaded_rev = store.load("o_user")
    assert (loaded, loaded_rev) == (DRAFT, rev)
    raw = redis_client.get("{wxbot:wx_test:user:o_user}:draft")
    assert "李秀英".encode() not in raw and b"330106196408220224" not in raw
    assert 0 < redis_client.ttl("{wxbot:wx_test:user:o_user}:draft") <= 72 * 3600


def test_paused_drafts_round_trip_encrypted_too(store, redis_client) -> None:
    other = Conversation(flow="unbind", version=1, step="choose", history=("members",), paused=(DRAFT,),
                         switch_to={"flow": "usage", "data": {}}, confirming="switch")
    rev = store.save("o_user", other, 0)
    assert store.load("o_user") == (other, rev)
    raw = redis_client.get("{wxbot:wx_test:user:o_user}:draft")
    assert "李秀英".encode() not in raw and b"330106196408220224" not in raw


@pytest.mark.parametrize("said", [
    # what one message said for later steps, waiting for them
    {"prefill": {"member_name": "李秀英", "member_id": "330106196408220224"}},
    # an unclear answer being asked about: which of two numbers, is this a name
    {"clarify": {"question": "？", "choices": ["330106196408220224", "330106199006070319"]}, "confirming": "clarify"},
    {"clarify": {"question": "？", "choices": [], "value": "李秀英"}, "confirming": "clarify"},
    # another service asked for in a sentence, with what it said, waiting for “leave this one?”
    {"switch_to": {"flow": "bind_member", "data": {"prefill": {"member_name": "李秀英",
                                                                "member_id": "330106196408220224"}}},
     "confirming": "switch"},
])
def test_what_the_user_said_for_later_is_encrypted_too(store, redis_client, said) -> None:
    draft = replace(DRAFT, data={"relationship": "spouse"}, **said)
    rev = store.save("o_user", draft, 0)
    assert store.load("o_user") == (draft, rev)
    raw = redis_client.get("{wxbot:wx_test:user:o_user}:draft")
    assert "李秀英".encode() not in raw and b"330106196408220224" not in raw


def test_a_stale_writer_is_refused(store) -> None:
    store.save("o_user", DRAFT, 0)
    with pytest.raises(StaleConversation):
        store.save("o_user", DRAFT, 0)


def test_clearing_deletes_the_data_but_keeps_the_revision(store, redis_client) -> None:
    rev = store.save("o_user", DRAFT, 0)
    new_rev = store.save("o_user", IDLE, rev)
    assert store.load("o_user") == (IDLE, new_rev)
    assert redis_client.get("{wxbot:wx_test:user:o_user}:draft") == f"{new_rev}:".encode()  # the revision only
    with pytest.raises(StaleConversation):
        store.save("o_user", DRAFT, rev)


def test_a_record_encrypted_with_another_key_starts_afresh(store, redis_client) -> None:
    store.save("o_user", DRAFT, 0)
    rotated = ConversationStore(redis_client, Keys("wxbot", "wx_test"), Fernet.generate_key().decode(), ttl=60)
    assert rotated.load("o_user")[0] == IDLE


def test_within_a_message_what_did_not_change_is_not_encrypted_again(store, redis_client) -> None:
    """A step that leaves the draft's data as it was (上一步 at the first question, a re-prompt)
    writes back the tokens it read; a part that changed is encrypted anew."""
    from bot.conversations.store import parse_record
    from bot.store.session import Session
    paused = replace(DRAFT, flow="unbind", step="choose", data={"member": 2})
    store.save("o_user", replace(DRAFT, paused=(paused,)), 0)
    raw = redis_client.get("{wxbot:wx_test:user:o_user}:draft")
    session = Session("o_user", *parse_record(raw), None, 0)   # as the admission reads it
    loaded, rev = store.load("o_user", session)
    def tokens(state: bytes) -> tuple:
        return json.loads(state)["data"], json.loads(state)["paused"][0]["data"]
    store.save("o_user", replace(loaded, step="member_name", history=("relationship",)), rev, session)
    assert tokens(session.draft.state) == tokens(raw.partition(b":")[2])
    store.save("o_user", replace(loaded, data={**loaded.data, "relationship": "child"}), rev + 1, session)
    data, paused_data = tokens(session.draft.state)
    assert data != tokens(raw.partition(b":")[2])[0] and paused_data == tokens(raw.partition(b":")[2])[1]
    assert store._decode(session.draft.state.encode()).data["relationship"] == "child"
