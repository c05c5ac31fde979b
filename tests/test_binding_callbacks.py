"""Decisions reach the bot through the signed callback and are recorded exactly once — from the
sandbox's desk (delayed and manual review, termination) and from the reconciler."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from bot.binding.factory import signing_key
from bot.binding.models import ApplicationRequest, ApplicationStatus, Decision
from bot.binding.reconcile import Reconciler
from bot.binding.sandbox.desk import SandboxDesk
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import sign
from bot.config import RegionSettings, SandboxSettings
from flows.relationships import Relationship
from tests.support.binding import Clock, person
from tests.test_binding_contract import CODE, verified


def decision(**changes) -> Decision:
    fields = dict(event_id=uuid.uuid4().hex, kind="application.decided", application_id="A1234",
                  binding_id="B1234", status="approved", decided_at="2026-11-20T08:00:00Z")
    fields.update(changes)
    return Decision(**fields)


@pytest.fixture
def bot_app(make_settings, redis_client):
    return create_app(make_settings())


def post(app, body: bytes, headers: dict | None = None, key=None):
    settings = app.extensions["wxbot"].settings
    headers = headers if headers is not None else sign(key or signing_key(settings), "POST", "/binding/callback", body)
    return app.test_client().post("/binding/callback", data=body, headers={"Content-Type": "application/json", **headers})


def recorded(app) -> list[tuple[Decision, str]]:
    return app.extensions["wxbot"].decisions.recorded()


def test_a_decision_is_recorded_once_however_often_it_arrives(bot_app) -> None:
    bot_app.extensions["wxbot"].decisions.remember_submission("A1234", "o_owner")
    body = decision().model_dump_json().encode()
    first = post(bot_app, body)
    assert (first.status_code, first.json) == (200, {"recorded": True})
    again = post(bot_app, decision().model_dump_json().encode())  # a retry: new event id, new nonce
    assert (again.status_code, again.json) == (200, {"recorded": False})
    [(stored, openid)] = recorded(bot_app)
    assert (stored.application_id, stored.status, openid) == ("A1234", "approved", "o_owner")


def test_a_decision_that_comes_before_the_bot_knows_the_owner_waits_for_them(bot_app) -> None:
    # The bureau accepted a submission whose answer timed out on the way to the bot, and decided
    # before the user's 重试 told the bot again (the resilience suite's hung-bureau case).
    decisions = bot_app.extensions["wxbot"].decisions
    assert post(bot_app, decision().model_dump_json().encode()).json == {"recorded": True}
    assert recorded(bot_app) == []  # nobody to tell yet: nothing to notify
    decisions.remember_submission("A1234", "o_owner")
    [(stored, openid)] = recorded(bot_app)
    assert (stored.application_id, stored.status, openid) == ("A1234", "approved", "o_owner")
    assert decisions.pending_since(time.time() + 1) == []  # decided: nothing left to reconcile
    decisions.remember_submission("A1234", "o_owner")  # the same submission answered again
    assert post(bot_app, decision().model_dump_json().encode()).json == {"recorded": False}
    assert len(recorded(bot_app)) == 1
    assert decisions.pending_since(time.time() + 1) == []  # a repeat still settles it


def test_replayed_request_is_rejected(bot_app) -> None:
    body = decision().model_dump_json().encode()
    headers = sign(signing_key(bot_app.extensions["wxbot"].settings), "POST", "/binding/callback", body)
    assert post(bot_app, body, headers).status_code == 200
    assert post(bot_app, body, headers).status_code == 409


@pytest.mark.parametrize("tamper", ["body", "signature", "key_id", "stale", "missing"])
def test_bad_signatures_are_401(bot_app, tamper: str) -> None:
    body = decision().model_dump_json().encode()
    key = signing_key(bot_app.extensions["wxbot"].settings)
    headers = sign(key, "POST", "/binding/callback", body, now=time.time() - 3600 if tamper == "stale" else None)
    if tamper == "body":
        body = body.replace(b"approved", b"rejected")
    elif tamper == "signature":
        headers["X-Signature"] = "0" * 64
    elif tamper == "key_id":
        headers["X-Key-Id"] = "someone-else"
    elif tamper == "missing":
        headers = {}
    assert post(bot_app, body, headers).status_code == 401
    assert recorded(bot_app) == []


@pytest.mark.parametrize("header, value", [
    ("X-Timestamp", "²"), ("X-Timestamp", "１７９５９６"), ("X-Timestamp", "-1"), ("X-Timestamp", "1e9"),
    ("X-Timestamp", "9" * 400), ("X-Timestamp", " 1"), ("X-Nonce", "ü" * 20), ("X-Key-Id", "ü"), ("X-Signature", "ü"),
])
def test_malformed_headers_are_401_without_a_traceback(bot_app, header: str, value: str, capsys) -> None:
    body = decision().model_dump_json().encode()
    headers = {**sign(signing_key(bot_app.extensions["wxbot"].settings), "POST", "/binding/callback", body),
               header: value}
    response = post(bot_app, body, headers)
    assert (response.status_code, response.json) == (401, {"error": "unauthorized"})
    assert "Traceback" not in capsys.readouterr().err
    assert recorded(bot_app) == []


@pytest.mark.parametrize("body", [b"not json", b"{}", json.dumps({"kind": "application.decided"}).encode(),
                                  decision().model_dump_json().replace("approved", "maybe").encode()])
def test_malformed_decisions_are_400(bot_app, body: bytes) -> None:
    assert post(bot_app, body).status_code == 400


# -- the sandbox's desk delivering over real HTTP ----------------------------------------------------
@pytest.fixture
def desk_world(make_settings, redis_client):
    """The bot on a real port, and a sandbox whose desk posts decisions to it."""
    clock = Clock()
    settings = make_settings()
    app = create_app(settings)
    server = BackgroundServer(app).start()

    def make(**sandbox_settings):
        sandbox = SandboxService(redis_client, Roster.load(None), RegionSettings(),
                                 SandboxSettings(verification_code=CODE, **sandbox_settings), clock=clock)
        desk = SandboxDesk(sandbox, f"{server.url}/binding/callback", signing_key(settings))
        return sandbox, desk

    yield app, make, clock
    server.stop()


def grandchild_application(sandbox, key: str = "k-0000001"):
    who = person("王朵朵")
    return sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, "王建国"), member_name=who.name, member_id_number=who.id_number,
        relationship=Relationship.GRANDCHILD, pledge_accepted=True, proof_media_ids=["m"], idempotency_key=key))


def submitted(app, sandbox):
    """An application submitted through the bot: it knows whom to tell."""
    application = grandchild_application(sandbox)
    app.extensions["wxbot"].decisions.remember_submission(application.application_id, "o_grandpa")
    return application


def test_delayed_review_decides_later_and_the_callback_records_it(desk_world) -> None:
    app, make, clock = desk_world
    sandbox, desk = make(review="delayed", review_delay=60)
    application = submitted(app, sandbox)
    assert application.status == ApplicationStatus.UNDER_REVIEW
    assert desk.tick() == 0 and recorded(app) == []
    clock.advance(61)
    assert desk.tick() == 1
    [(stored, _)] = recorded(app)
    assert (stored.application_id, stored.status) == (application.application_id, "approved")
    assert desk.tick() == 0  # delivered once


def test_manual_review_rejection_with_a_reason(desk_world) -> None:
    app, make, _ = desk_world
    sandbox, desk = make(review="manual")
    application = submitted(app, sandbox)
    assert [a.application_id for a in sandbox.under_review()] == [application.application_id]
    sandbox.decide(application.application_id, approve=False, reason="proof_rejected")
    assert desk.tick() == 1
    [(stored, _)] = recorded(app)
    assert (stored.status, stored.reason) == ("rejected", "proof_rejected")
    assert sandbox.under_review() == []


def test_auto_termination_is_a_decision_too(desk_world) -> None:
    app, make, _ = desk_world
    sandbox, desk = make()
    application = submitted(app, sandbox)
    desk.tick()
    sandbox.terminate(application.binding_id)
    desk.tick()
    kinds = [(d.kind, d.status, d.reason) for d, _ in recorded(app)]
    assert kinds == [("application.decided", "approved", None),
                     ("binding.terminated", "terminated", "relationship_terminated")]


def test_unbinding_is_a_decision_too_and_repeating_it_is_not(desk_world) -> None:
    app, make, _ = desk_world
    sandbox, desk = make()
    application = submitted(app, sandbox)
    me = person("王建国").person_id
    sandbox.unbind(me, application.binding_id)
    sandbox.unbind(me, application.binding_id)
    desk.tick()
    assert [(d.kind, d.status, d.reason) for d, _ in recorded(app)] == [
        ("application.decided", "approved", None), ("binding.ended", "ended", "ended_by_initiator")]


def test_callbacks_wait_in_the_outbox_while_the_bot_is_down(desk_world, redis_client) -> None:
    app, make, clock = desk_world
    sandbox, _ = make()
    dead_desk = SandboxDesk(sandbox, "http://127.0.0.1:9/binding/callback",
                            signing_key(app.extensions["wxbot"].settings), timeout=0.5)
    submitted(app, sandbox)
    assert dead_desk.tick() == 0
    assert sandbox.outbox().pending() == 1
    _, live_desk = make()
    clock.advance(10)
    assert live_desk.tick() == 1
    assert len(recorded(app)) == 1 and sandbox.outbox().pending() == 0


def test_reconciler_finds_decisions_whose_callback_never_came(desk_world) -> None:
    app, make, clock = desk_world
    sandbox, desk = make(review="manual")
    bot = app.extensions["wxbot"]
    application = grandchild_application(sandbox)
    bot.decisions.remember_submission(application.application_id, "o_grandpa", submitted_at=clock())
    reconciler = Reconciler(sandbox, bot.decisions, older_than=600, clock=clock)

    assert reconciler.run_once()["checked"] == 0           # not overdue yet
    clock.advance(601)
    assert reconciler.run_once() == {"checked": 1, "recorded": 0, "pending": 1}
    sandbox.decide(application.application_id, approve=True)  # decided; its callback is lost
    clock.advance(601)
    assert reconciler.run_once() == {"checked": 1, "recorded": 1, "pending": 0}
    assert reconciler.run_once()["checked"] == 0           # no longer pending
    desk.tick()                                            # the late callback: not recorded again
    [(stored, openid)] = recorded(app)
    assert (stored.application_id, stored.status, openid) == (application.application_id, "approved", "o_grandpa")
