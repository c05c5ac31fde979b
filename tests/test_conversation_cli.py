"""`wxbot conversation show | reset OPENID`: the stuck-user runbook without Python — masked, on a
real Redis, through the same settings the service reads."""

from __future__ import annotations

import time
from datetime import date

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.cli.conversation import masked
from bot.conversations.identities import Identities
from bot.conversations.store import ConversationStore, StaleConversation
from bot.notify.records import NotificationRecords
from bot.store.keys import Keys
from flows.engine import Conversation
from tests.support.processes import settings_env

OPENID = "o_stuck_user"
GRANDPA = ("王建国", "330106196203150111")
CHILD = ("王朵朵", "330106201809090428")


@pytest.fixture
def stuck(make_settings, redis_client):
    """A user at the photo step of 绑定家人, with a verification paused under it, verified, and
    two notices waiting."""
    settings = make_settings()
    keys = Keys.of(settings)
    secret = settings.conversation.secret_key
    store = ConversationStore(redis_client, keys, secret, ttl=3600)
    now = time.time()
    paused = Conversation(flow="verify", version=1, step="code", history=("name", "id_number"), started_at=now - 600,
                          updated_at=now - 600, data={"name": GRANDPA[0], "id_number": GRANDPA[1], "code": "123456",
                                                      "masked_phone": "138****5678", "challenge_id": "ch-1"})
    draft = Conversation(flow="bind_member", version=1, step="proof", retries=1, started_at=now - 60, updated_at=now - 30,
                         history=("relationship", "member_name", "member_id"), paused=(paused,),
                         data={"idempotency_key": "k" * 32, "relationship": "grandchild", "member_name": CHILD[0],
                               "member_id": {"value": CHILD[1], "type": "resident_id", "birth_date": "2018-09-09",
                                             "sex": "F", "age": 8}})
    store.save(OPENID, draft, 0)
    Identities(redis_client, keys, secret).link(
        OPENID, {"person_id": "P1", "masked_name": "王**", "masked_id_number": "3301**********0111"}, GRANDPA[1],
        date(2026, 11, 23))
    records = NotificationRecords(redis_client, keys)
    for notification_id in ("n1", "n2"):
        records.park_for_user(notification_id, OPENID, "【办理结果】…")
    return settings, store, Identities(redis_client, keys, secret)


def wxbot(settings, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["conversation", *args], env=settings_env(settings), input=stdin)


def test_show_prints_the_draft_masked(stuck) -> None:
    settings, _, _ = stuck
    result = wxbot(settings, "show", OPENID)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "flow       bind_member (绑定家人), step proof, attempts 1, confirming -" in out
    assert ("filled     idempotency_key=(filled)  relationship=grandchild  member_name=王**  "
            "member_id=3301**********0428") in out
    assert ("paused     verify at code, updated " in out and "name=王**  id_number=3301**********0111  code=(filled)  "
            "masked_phone=138****5678  challenge_id=(filled)") in out
    assert "identity   verified: 王** 3301**********0111" in out
    assert "notices    2 waiting for the next visit" in out
    assert "lock       free" in out
    for secret in (*GRANDPA, *CHILD, "123456", OPENID):
        assert secret not in out


def test_the_user_ref_from_the_logs_finds_the_user(stuck) -> None:
    from bot.logs import configure_for, user_ref

    settings, _, _ = stuck
    configure_for(settings)
    ref = user_ref(OPENID)
    result = wxbot(settings, "show", ref)
    assert result.exit_code == 0, result.output
    assert f"user_ref   {ref}" in result.output and "step proof" in result.output
    assert OPENID not in result.output


def test_an_unknown_openid_is_one_line_and_exit_1(stuck) -> None:
    settings, _, _ = stuck
    for args in (("show", "o_nobody"), ("reset", "o_nobody", "--yes"), ("show", "0123456789ab")):
        result = wxbot(settings, *args)
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == ["unknown openid: no conversation, identity or waiting "
                                                      f"notices for {args[1]}"]


def test_reset_asks_then_deletes_the_draft_keeping_the_revision_and_the_identity(stuck) -> None:
    settings, store, identities = stuck
    declined = wxbot(settings, "reset", OPENID, stdin="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert "Delete the draft (bind_member at proof, 1 paused)?" in declined.output
    draft, rev = store.load(OPENID)
    assert draft.flow == "bind_member"

    result = wxbot(settings, "reset", OPENID, stdin="y\n")
    assert result.exit_code == 0, result.output
    assert "deleted the draft (bind_member at proof, 1 paused)" in result.output
    assert store.load(OPENID) == (Conversation(), rev + 1)  # the revision goes on: a stale writer conflicts
    with pytest.raises(StaleConversation):
        store.save(OPENID, draft, rev)
    assert identities.get(OPENID)["masked_name"] == "王**"

    shown = wxbot(settings, "show", OPENID).output
    assert f"draft      none (rev {rev + 1}: the last flow ended)" in shown
    assert "identity   verified" in shown


def test_reset_with_identity_unlinks_it_too(stuck) -> None:
    settings, store, identities = stuck
    result = wxbot(settings, "reset", OPENID, "--identity", "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted the draft (bind_member at proof, 1 paused) and the verified identity" in result.output
    assert identities.get(OPENID) is None
    assert not store.load(OPENID)[0].active
    assert "identity   not verified" in wxbot(settings, "show", OPENID).output
    again = wxbot(settings, "reset", OPENID, "--yes")
    assert again.exit_code == 0 and "nothing to delete" in again.output


def test_masking() -> None:
    assert masked("member_name", "欧阳娜娜") == "欧***"
    assert masked("id_number", "11010519491231002X") == "1101**********002X"
    assert masked("masked_phone", "13812345678") == "138****5678"
    assert masked("code", "123456") == "(filled)"
    assert masked("relationship", "spouse") == "spouse"
    assert masked("relationship", "330106196203150111") == "(filled)"  # never a number in clear
    assert masked("members", [{"masked_name": "王**"}]) == "(filled)"
