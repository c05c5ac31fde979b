"""`wxbot sandbox …` and `wxbot binding …` as an operator runs them, on a real Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.binding.contract import OPERATIONS
from bot.binding.decisions import Decisions
from bot.binding.http import HttpBindingService
from bot.binding.models import ApplicationRequest, Decision, VerificationAnswer, VerificationStart
from bot.binding.openapi import render_spec
from bot.binding.sandbox.roster import Roster
from bot.binding.sandbox.service import SandboxService
from bot.config import BindingSettings, RegionSettings, SandboxSettings, load_settings
from bot.store.keys import Keys
from flows.domain.relationships import Relationship
from tests.conftest import free_port, wait_for
from tests.support.binding import person
from tests.test_binding_contract import CODE, verified

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config.example.toml")


@pytest.fixture
def env(redis_server) -> dict[str, str]:
    return {**os.environ, "WXBOT_REDIS__URL": redis_server.url, "WXBOT_BINDING__SANDBOX__REVIEW": "manual",
            "WXBOT_LOG__FORMAT": "console"}


def wxbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", CONFIG],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def sandbox(redis_client) -> SandboxService:
    return SandboxService(redis_client, Roster.load(None), RegionSettings(),
                          SandboxSettings(verification_code=CODE, review="manual"))


def test_committed_contract_is_what_the_code_generates() -> None:
    committed = (ROOT / "docs" / "binding-api.yaml").read_text(encoding="utf-8")
    assert committed == render_spec(), "run: wxbot binding openapi --output docs/binding-api.yaml"
    spec = yaml.safe_load(committed)
    assert spec["openapi"] == "3.1.0"
    for op in OPERATIONS:
        assert spec["paths"][op.path][op.method.lower()]["operationId"] == op.name


def test_review_desk_commands(env, sandbox) -> None:
    who = person("王朵朵")
    application = sandbox.submit_application(ApplicationRequest(
        initiator_id=verified(sandbox, "王建国"), member_name=who.name, member_id_number=who.id_number,
        relationship=Relationship.GRANDCHILD, pledge_accepted=True, proof_media_ids=["m"],
        idempotency_key="cli-test-1"))

    listing = wxbot(env, "sandbox", "reviews")
    assert application.application_id in listing.stdout and "王**" in listing.stdout
    assert who.id_number not in listing.stdout  # masked

    approved = wxbot(env, "sandbox", "approve", application.application_id)
    assert approved.stdout.strip() == f"{application.application_id}: approved"
    binding_id = sandbox.application(application.application_id).binding_id

    spent = wxbot(env, "sandbox", "spend", binding_id, "12.30", "--place", "社区卫生服务中心")
    assert spent.stdout.strip() == "王** spent ¥12.30 at 社区卫生服务中心"
    assert wxbot(env, "sandbox", "terminate", binding_id).stdout.strip() == f"{binding_id}: terminated"

    refused = wxbot(env, "sandbox", "approve", "A-unknown")
    assert refused.returncode == 1
    assert "application_not_found" in refused.stderr


def test_reject_needs_a_known_reason(env, sandbox) -> None:
    result = wxbot(env, "sandbox", "reject", "A1", "--reason", "because")
    assert result.returncode == 2
    assert "Invalid value for '--reason'" in result.stderr


def test_sms_shows_the_codes_sent(env, sandbox) -> None:
    who = person("王建国")
    challenge = sandbox.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
    assert wxbot(env, "sandbox", "sms").stdout.split() == [challenge.challenge_id, CODE]


def test_refused_decisions_are_listed_for_operators(env, redis_client) -> None:
    settings = load_settings(CONFIG, redis={"url": env["WXBOT_REDIS__URL"]})
    decisions = Decisions(redis_client, Keys.of(settings))
    forged = Decision(event_id="e1", kind="binding.ended", application_id="A-forged", binding_id="B-forged",
                      status="ended", decided_at="2026-11-20T08:00:00Z")
    decisions.refuse(forged, "not_decided", "active")
    [line] = wxbot(env, "binding", "refused").stdout.splitlines()
    assert line.split()[2:] == ["A-forged", "B-forged", "binding.ended", "ended", "not_decided", "bureau:", "active"]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sandbox_serve_speaks_the_contract(env, tmp_path) -> None:
    port = free_port()
    env = {**env, "WXBOT_BINDING__SANDBOX__BIND": f"127.0.0.1:{port}"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "serve", "--config", CONFIG],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for(lambda: listening(port), timeout=20)
        settings = BindingSettings(adapter="http", http={"base_url": f"http://127.0.0.1:{port}"})
        service = HttpBindingService(settings)
        who = person("王建国")
        challenge = service.start_verification(VerificationStart(openid="o1", name=who.name, id_number=who.id_number))
        verified_person = service.complete_verification(challenge.challenge_id,
                                                        VerificationAnswer(openid="o1", code="123456"))
        assert service.eligibility(verified_person.person_id).eligible
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
