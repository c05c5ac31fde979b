"""Decisions reach the bot through the signed callback and are recorded exactly once — from the
sandbox's desk (delayed and manual review, termination) and from the reconciler. A callback's
decision is confirmed with the bureau's own status first: what the bureau does not say is refused."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace

import pytest

from bot.app import create_app
from bot.background import BackgroundServer
from bot.binding.factory import signing_key
from bot.binding.models import ApplicationRequest, ApplicationStatus, ConsentAnswer, Decision
from bot.binding.reconcile import Reconciler
from bot.binding.sandbox.desk import SandboxDesk
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.server import create_sandbox_app
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import sign
from bot.config import RegionSettings, SandboxSettings
from flows.domain.relationships import Relationship
from tests.support.binding import Clock, person
from tests.test_binding_contract import CODE, KEY, verified
from tests.test_binding_http_adapter import FlakyServer
from tests.test_metrics import Counts
from tests.test_notifications import deliver_callbacks


def decision(**changes) -> Decision:
    fields = {"event_id": uuid.uuid4().hex, "kind": "application.decided", "application_id": "A1234",
                  "binding_id": "B1234", "status": "approved", "decided_at": "2026-11-20T08:00:00Z"}
    fields.update(changes)
    return Decision(**fields)


@pytest.fixture
def bot_app(make_settings, redis_client):
    """The bot with its own sandbox bureau (auto review): what a callback claims is checked there."""
    return create_app(make_settings(binding={"sandbox": {"verification_code": CODE}}))


def post(app, body: bytes, headers: dict | None = None, key=None):
    settings = app.extensions["wxbot"].settings
    headers = headers if headers is not None else sign(key or signing_key(settings), "POST", "/binding/callback", body)
    return app.test_client().post("/binding/callback", data=body, headers={"Content-Type": "application/json", **headers})


def recorded(app) -> list[tuple[Decision, str]]:
    return app.extensions["wxbot"].decisions.recorded()


def approved(app, key: str = "k-approved-1") -> Decision:
    """A decision the bureau confirms: a grandchild application that the app's own sandbox
    approved at once (auto review)."""
    application = grandchild_application(app.extensions["wxbot"].binding, key)
    return decision(application_id=application.application_id, binding_id=application.binding_id)


def retried(genuine: Decision) -> bytes:
    """The same decision sent again: a new event id (and, through post(), a new nonce)."""
    return genuine.model_copy(update={"event_id": uuid.uuid4().hex}).model_dump_json().encode()


def test_a_decision_is_recorded_once_however_often_it_arrives(bot_app) -> None:
    genuine = approved(bot_app)
    bot_app.extensions["wxbot"].decisions.remember_submission(genuine.application_id, "o_owner")
    first = post(bot_app, genuine.model_dump_json().encode())
    assert (first.status_code, first.json) == (200, {"recorded": True})
    again = post(bot_app, retried(genuine))
    assert (again.status_code, again.json) == (200, {"recorded": False})
    [(stored, openid)] = recorded(bot_app)
    assert (stored.application_id, stored.status, openid) == (genuine.application_id, "approved", "o_owner")


def test_a_decision_that_comes_before_the_bot_knows_the_owner_waits_for_them(bot_app) -> None:
    # The bureau accepted a submission whose answer timed out on the way to the bot, and decided
    # before the user's 重试 told the bot again (the resilience suite's hung-bureau case).
    decisions = bot_app.extensions["wxbot"].decisions
    genuine = approved(bot_app)
    application_id = genuine.application_id
    assert post(bot_app, genuine.model_dump_json().encode()).json == {"recorded": True}
    assert recorded(bot_app) == []  # nobody to tell yet: nothing to notify
    decisions.remember_submission(application_id, "o_owner")
    [(stored, openid)] = recorded(bot_app)
    assert (stored.application_id, stored.status, openid) == (application_id, "approved", "o_owner")
    assert decisions.pending_since(time.time() + 1) == []  # decided: nothing left to reconcile
    decisions.remember_submission(application_id, "o_owner")  # the same submission answered again
    assert post(bot_app, retried(genuine)).json == {"recorded": False}
    assert len(recorded(bot_app)) == 1
    assert decisions.pending_since(time.time() + 1) == []  # a repeat still settles it


def test_replayed_request_is_rejected(bot_app) -> None:
    body = approved(bot_app).model_dump_json().encode()
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


def grandchild_application(sandbox, key: str = "k-0000001", initiator: str = "王建国"):
    who = person("王朵朵")
    return sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, initiator), member_name=who.name, member_id_number=who.id_number,
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


# -- decisions are checked at the source (issue 14, point 2) ------------------------------------------
# Every request below is correctly signed: the signature proves who sent a decision, not that it is true.
REFUSED = "wxbot_callback_decisions_refused_total"


def waiting_for_consent(app, openid: str = "o_owner"):
    """A spouse application that the bot submitted for `openid` and the bureau holds until the
    member consents: nothing is decided yet."""
    bot = app.extensions["wxbot"]
    who = person("李秀英")
    application = bot.binding.submit_application(ApplicationRequest(
        initiator_id=verified(bot.binding, "王建国"), member_name=who.name, member_id_number=who.id_number,
        relationship=Relationship.SPOUSE, pledge_accepted=True, idempotency_key="k-consent-1"))
    bot.decisions.remember_submission(application.application_id, openid)
    return application


def test_a_forged_approval_is_refused_alerted_and_never_notified(bot_app, capsys) -> None:
    bot = bot_app.extensions["wxbot"]
    application = waiting_for_consent(bot_app)
    assert application.status == ApplicationStatus.PENDING_CONSENT
    counts = Counts(bot_app)
    capsys.readouterr()

    forged = decision(application_id=application.application_id, binding_id=None)
    response = post(bot_app, forged.model_dump_json().encode())

    assert (response.status_code, response.json) == (422, {"error": "unconfirmed"})
    assert bot.redis.xlen(bot.keys.decisions()) == 0 and recorded(bot_app) == []  # nothing to notify
    [refused] = bot.decisions.refused()
    assert (refused.decision, refused.reason, refused.bureau_status) == (forged, "not_decided", "pending_consent")
    assert counts.delta(REFUSED, kind="application.decided", reason="not_decided") == 1
    [line] = [line for line in capsys.readouterr().err.splitlines() if "decision_refused" in line]
    assert "error" in line and application.application_id in line and "not_decided" in line
    member = person("李秀英")
    assert member.name not in line and member.id_number not in line and "o_owner" not in line
    assert bot.decisions.pending_since(time.time() + 1) == [application.application_id]  # still to reconcile

    # The genuine decision, when it comes, is recorded as usual: the forgery burnt nothing.
    bot.binding.answer_consent(application.consent.code,
                               ConsentAnswer(person_id=verified(bot.binding, "李秀英"), agree=True))
    deliver_callbacks(bot_app)
    [(stored, openid)] = recorded(bot_app)
    assert (stored.application_id, stored.status, openid) == (application.application_id, "approved", "o_owner")


@pytest.fixture
def bureau(bot_app) -> SimpleNamespace:
    """What the bot's bureau holds: an active binding (王建国's) and an ended one (周强's)."""
    sandbox = bot_app.extensions["wxbot"].binding
    active = grandchild_application(sandbox, "k-active-1")
    ended = grandchild_application(sandbox, "k-ended-1", initiator="周强")
    sandbox.unbind(person("周强").person_id, ended.binding_id)
    return SimpleNamespace(active=active, ended=ended)


def ended(application, kind: str = "binding.ended", status: str = "ended", **changes) -> Decision:
    fields = {"kind": kind, "application_id": application.application_id, "binding_id": application.binding_id,
                  "status": status, "reason": "ended_by_member"}
    return decision(**{**fields, **changes})


FORGERIES = {  # what a callback claims → why the bureau does not confirm it, what the bureau says
    "an active binding ended": (lambda b: ended(b.active), "not_decided", "active"),
    "an active binding terminated": (lambda b: ended(b.active, "binding.terminated", "terminated"),
                                     "not_decided", "active"),
    "an ended binding terminated": (lambda b: ended(b.ended, "binding.terminated", "terminated"),
                                    "status_differs", "ended"),
    "a kind that contradicts its status": (lambda b: ended(b.ended, "binding.terminated", "ended"),
                                           "status_differs", "ended"),
    "an ended binding, told to another application's owner": (
        lambda b: ended(b.ended, application_id=b.active.application_id), "application_differs", "ended"),
    "an approval rejected": (lambda b: decision(application_id=b.active.application_id, binding_id=None,
                                                status="rejected", reason="proof_rejected"),
                             "status_differs", "approved"),
    "an approval with another binding": (lambda b: decision(application_id=b.active.application_id,
                                                            binding_id=b.ended.binding_id),
                                         "binding_differs", "approved"),
    "an application the bureau never had": (lambda b: decision(application_id="A-none"), "unknown", ""),
    "a binding the bureau never had": (lambda b: ended(b.active, binding_id="B-none"), "unknown", ""),
    "the end of no binding": (lambda b: ended(b.active, binding_id=None), "unknown", ""),
}


@pytest.mark.parametrize("claim", FORGERIES)
def test_what_the_bureau_does_not_say_is_refused(bot_app, bureau, claim: str) -> None:
    make, reason, bureau_status = FORGERIES[claim]
    forged = make(bureau)
    bot_app.extensions["wxbot"].decisions.remember_submission(bureau.active.application_id, "o_owner")
    counts = Counts(bot_app)
    response = post(bot_app, forged.model_dump_json().encode())
    assert (response.status_code, response.json) == (422, {"error": "unconfirmed"})
    assert recorded(bot_app) == []
    [refused] = bot_app.extensions["wxbot"].decisions.refused()
    assert (refused.decision, refused.reason, refused.bureau_status) == (forged, reason, bureau_status)
    assert counts.delta(REFUSED, kind=forged.kind, reason=reason) == 1


def test_what_the_bureau_says_is_recorded(bot_app, bureau) -> None:
    bot = bot_app.extensions["wxbot"]
    bot.decisions.remember_submission(bureau.active.application_id, "o_owner")
    bot.decisions.remember_submission(bureau.ended.application_id, "o_zhou")
    for genuine in (decision(application_id=bureau.active.application_id, binding_id=None),  # binding optional
                    ended(bureau.ended, reason="ended_by_initiator")):
        assert post(bot_app, genuine.model_dump_json().encode()).json == {"recorded": True}
    assert [(d.kind, d.status, openid) for d, openid in recorded(bot_app)] == [
        ("application.decided", "approved", "o_owner"), ("binding.ended", "ended", "o_zhou")]
    assert bot.decisions.refused() == []


# -- the bureau cannot be asked: 503, nothing recorded, and the bureau's retry is accepted ---------------
@pytest.fixture
def remote_bureau(make_settings, redis_client):
    """The bot on the HTTP adapter, the bureau (the sandbox's server) on a port it can leave."""
    sandbox = SandboxService(redis_client, Roster.load(None), RegionSettings(), SandboxSettings(verification_code=CODE))
    server = FlakyServer(create_sandbox_app(sandbox, KEY)).start()
    settings = make_settings(binding={"adapter": "http", "key_id": KEY.key_id, "secret": KEY.secret,
                                      "http": {"base_url": server.url, "retries": 0, "connect_timeout": 0.5}})
    yield create_app(settings), sandbox, server
    server.stop()


@pytest.mark.parametrize("retry", ["the same request", "a new nonce"])
def test_bureau_unavailable_is_503_and_its_retry_is_accepted(remote_bureau, retry: str) -> None:
    app, sandbox, server = remote_bureau
    bot = app.extensions["wxbot"]
    application = grandchild_application(sandbox)
    bot.decisions.remember_submission(application.application_id, "o_owner")
    genuine = decision(application_id=application.application_id, binding_id=application.binding_id)
    body = genuine.model_dump_json().encode()
    headers = sign(signing_key(bot.settings), "POST", "/binding/callback", body)

    server.stop()  # the bureau's status call fails
    response = post(app, body, headers)
    assert (response.status_code, response.json) == (503, {"error": "unavailable, retry later"})
    assert recorded(app) == [] and bot.decisions.refused() == []

    server.start()
    if retry == "a new nonce":
        headers = sign(signing_key(bot.settings), "POST", "/binding/callback", body)
    again = post(app, body, headers)
    assert (again.status_code, again.json) == (200, {"recorded": True})
    [(stored, openid)] = recorded(app)
    assert (stored.application_id, stored.status, openid) == (application.application_id, "approved", "o_owner")
    assert post(app, body, headers).status_code == 409  # answered for good: now its nonce is spent


def test_the_remote_bureau_refuses_a_forgery_the_same_way(remote_bureau) -> None:
    app, sandbox, _ = remote_bureau
    application = grandchild_application(sandbox)
    forged = ended(application)
    assert post(app, forged.model_dump_json().encode()).status_code == 422
    assert recorded(app) == []
    assert [(r.reason, r.bureau_status) for r in app.extensions["wxbot"].decisions.refused()] == [
        ("not_decided", "active")]


def test_what_the_user_is_told_is_the_bureaus_reason_not_the_callbacks(make_settings, redis_client) -> None:
    # A confirmed status with a made-up reason: the reason recorded (and shown on the card) is the
    # bureau's; the genuine callback after it is the same decision, not a second one.
    import uuid

    from bot.app import create_app
    from bot.binding.models import ApplicationRequest, ConsentAnswer
    from flows.domain.relationships import Relationship
    from tests.support.binding import person
    from tests.test_binding_contract import verified

    app = create_app(make_settings(binding={"sandbox": {"verification_code": "123456"}}))
    bot, son = app.extensions["wxbot"], person("王小明")
    application = bot.binding.submit_application(ApplicationRequest(
        initiator_id=verified(bot.binding, "王建国", code="123456"), member_name=son.name,
        member_id_number=son.id_number, relationship=Relationship.CHILD, pledge_accepted=True,
        idempotency_key=uuid.uuid4().hex))
    bot.binding.answer_consent(application.consent.code,
                               ConsentAnswer(person_id=verified(bot.binding, "王小明", code="123456"), agree=False))
    bot.decisions.remember_submission(application.application_id, "o_owner")
    claim = decision(application_id=application.application_id, binding_id=None, status="rejected",
                     reason="member_bound_elsewhere")
    assert post(app, claim.model_dump_json().encode()).status_code == 200
    genuine = decision(application_id=application.application_id, binding_id=None, status="rejected",
                       reason="consent_declined", event_id="genuine")
    assert post(app, genuine.model_dump_json().encode()).json == {"recorded": False}
    [(stored, openid)] = recorded(app)
    assert (stored.reason, openid) == ("consent_declined", "o_owner")
