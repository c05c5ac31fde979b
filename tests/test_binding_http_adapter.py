"""The HTTP adapter's resilience against a real server: retries only where safe, timeouts,
and a circuit breaker that opens while the server is down and closes when it is back."""

from __future__ import annotations

import threading
import time

import pytest
from werkzeug.serving import make_server

from bot.binding import errors as e
from bot.binding.http import HttpBindingService
from bot.binding.models import VerificationStart
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.server import create_sandbox_app
from bot.binding.sandbox.service import SandboxService
from bot.config import BindingSettings, RegionSettings, SandboxSettings
from tests.conftest import free_port
from tests.support.binding import person
from tests.test_binding_contract import KEY, verified


class FlakyServer:
    """The sandbox server on a fixed port, that can be stopped, restarted, made to fail or stall."""

    def __init__(self, app) -> None:
        self.app, self.port = app, free_port()
        self.fail_next, self.delay, self.requests = 0, 0.0, 0
        self._server = None

    def wsgi(self, environ, start_response):
        self.requests += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_next:
            self.fail_next -= 1
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"overloaded"]
        return self.app(environ, start_response)

    def start(self) -> FlakyServer:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def world(redis_client):
    sandbox = SandboxService(redis_client, Roster.load(None), RegionSettings(),
                             SandboxSettings(verification_code="246810"))
    server = FlakyServer(create_sandbox_app(sandbox, KEY)).start()

    def adapter(**http) -> HttpBindingService:
        settings = BindingSettings(adapter="http", key_id=KEY.key_id, secret=KEY.secret,
                                   http={"base_url": server.url, **http})
        return HttpBindingService(settings)

    yield server, adapter
    server.stop()


def test_idempotent_call_is_retried_through_a_transient_failure(world) -> None:
    server, adapter = world
    service = adapter(retries=2)
    me = verified(service, "王建国")
    server.fail_next, server.requests = 2, 0
    assert service.eligibility(me).eligible
    assert server.requests == 3


def test_a_bindings_status_is_a_read_retried_through_a_transient_failure(world) -> None:
    server, adapter = world
    service = adapter(retries=2)
    with pytest.raises(e.BindingNotFound):
        service.binding("B-none")  # an answer, not a failure: asked once
    server.fail_next, server.requests = 2, 0
    with pytest.raises(e.BindingNotFound):
        service.binding("B-none")
    assert server.requests == 3
    server.fail_next, server.requests = 3, 0
    with pytest.raises(e.ServiceUnavailable):
        service.binding("B-none")  # what the callback answers 503 to
    assert server.requests == 3


def test_non_idempotent_call_is_not_retried(world) -> None:
    server, adapter = world
    service = adapter(retries=2)
    server.fail_next, server.requests = 1, 0
    who = person("王建国")
    with pytest.raises(e.ServiceUnavailable):
        service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
    assert server.requests == 1  # one SMS at most, never three


def test_domain_errors_are_answers_not_failures(world) -> None:
    _, adapter = world
    service = adapter(breaker_failures=2)
    for _ in range(5):
        with pytest.raises(e.NotVerified):
            service.eligibility(person("王建国").person_id)
    assert service.breaker.current_state == "closed"


def test_a_slow_server_times_out(world) -> None:
    server, adapter = world
    service = adapter(timeout=0.2, retries=0)
    me = verified(service, "王建国")
    server.delay = 0.6
    started = time.monotonic()
    with pytest.raises(e.ServiceUnavailable):
        service.eligibility(me)
    assert time.monotonic() - started < 0.6


def test_breaker_opens_while_down_and_closes_when_back(world) -> None:
    server, adapter = world
    service = adapter(retries=0, breaker_failures=3, breaker_reset=0.5, connect_timeout=0.2)
    me = verified(service, "王建国")
    server.stop()
    for _ in range(3):
        with pytest.raises(e.ServiceUnavailable):
            service.eligibility(me)
    assert service.breaker.current_state == "open"
    with pytest.raises(e.ServiceUnavailable, match="circuit open"):
        service.eligibility(me)  # refused at once, without calling

    server.start()
    with pytest.raises(e.ServiceUnavailable, match="circuit open"):
        service.eligibility(me)  # still within the reset timeout
    time.sleep(0.6)
    assert service.eligibility(me).eligible  # the half-open trial succeeds
    assert service.breaker.current_state == "closed"


def test_requests_with_a_wrong_key_are_refused_by_the_server(world) -> None:
    server, _ = world
    settings = BindingSettings(adapter="http", key_id=KEY.key_id, secret="another-secret-of-16+",
                               http={"base_url": server.url, "retries": 0})
    with pytest.raises(e.InvalidRequest, match="signature"):
        HttpBindingService(settings).eligibility(person("王建国").person_id)


def test_readyz_says_whether_redis_and_the_binding_service_answer(world, make_settings) -> None:
    """The webhook's readiness (deploy gating, `wxbot probe`): Redis and the bureau both answer."""
    from bot.app import create_app

    server, adapter = world
    app = create_app(make_settings(), binding=adapter(retries=0, connect_timeout=0.2)).test_client()
    ready = app.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ready", "redis": "ok", "binding": "ok"}
    server.stop()
    down = app.get("/readyz")
    assert down.status_code == 503 and down.json == {"status": "not_ready", "redis": "ok", "binding": "down"}
    assert app.get("/healthz").status_code == 200   # alive all the same: the bureau is everyone's problem
    server.start()
    assert app.get("/readyz").status_code == 200
