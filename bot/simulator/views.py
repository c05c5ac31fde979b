"""The simulator's page and its API: the chat goes through `Phone` to the real /wechat endpoint;
the desk is the sandbox's own reviewer. Module-level views, like bot/webhook/views.py: each finds
what it works with through `simulator()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from bot.binding import errors as e
from bot.binding.sandbox.service import SandboxService
from bot.simulator.phone import Phone
from flows.texts.refusals import SHORT
from flows.texts.relationships import LABELS

STATIC = Path(__file__).parent / "static"
# What the desk may give as the reason of a rejection (a few of the bureau's error codes).
REJECT_REASONS = ("proof_rejected", "name_id_mismatch", "member_not_insured", "member_bound_elsewhere")

blueprint = Blueprint("simulator", __name__)


@dataclass(frozen=True)
class Simulator:
    """What the views work with: the users' phones, the sandbox's desk (None when the binding
    service is not the sandbox), and the account's name on the page."""
    phone: Phone
    desk: SandboxService | None
    account: str


def simulator() -> Simulator:
    """The simulator of the app serving this request (create_simulator puts it there)."""
    return current_app.extensions["simulator"]


# -- the page ----------------------------------------------------------------------------------
@blueprint.get("/")
def index() -> Response:
    return send_from_directory(STATIC, "index.html")


@blueprint.get("/consent/<code>")
def consent(code: str) -> Response:
    """Where the sandbox's consent links lead: the member confirms from their own chat."""
    return send_from_directory(STATIC, "consent.html")


@blueprint.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_from_directory(STATIC, name)


@blueprint.get("/api/config")
def config() -> Response:
    sim = simulator()
    return jsonify(account=sim.account, menu=sim.phone.menu(), mode=sim.phone.side.mode, desk=sim.desk is not None,
                   reject_reasons=[{"code": code, "text": SHORT[code]} for code in REJECT_REASONS],
                   webhook=sim.phone.webhook_url, notices=sim.phone.notices())


# -- the chat ----------------------------------------------------------------------------------
@blueprint.post("/api/send")
def send() -> Response | tuple[Response, int]:
    phone = simulator().phone
    body = request.get_json(silent=True) or {}
    openid = str(body.get("openid") or "").strip()
    if not openid:
        return jsonify(error="openid is required"), 400
    if body.get("follow"):
        replies = phone.follow(openid)
    elif body.get("click"):
        replies = phone.click(openid, str(body["click"]))
    elif isinstance(body.get("voice"), str):
        replies = phone.voice(openid, body["voice"])
    elif isinstance(body.get("text"), str) and body["text"].strip():
        replies = phone.text(openid, body["text"])
    else:
        return jsonify(error="send text, voice, click or follow"), 400
    return jsonify(replies=replies)


@blueprint.post("/api/image")
def image() -> Response | tuple[Response, int]:
    openid, photo = request.form.get("openid", "").strip(), request.files.get("photo")
    if not openid or photo is None:
        return jsonify(error="openid and photo are required"), 400
    return jsonify(replies=simulator().phone.image(openid, photo.read()))


@blueprint.post("/api/subscribe")
def subscribe() -> Response | tuple[Response, int]:
    """The user's choices in WeChat's subscription pop-up (which the simulator plays for the
    subscribe page): {"openid", "accept": [template ids], "reject": [...]}."""
    body = request.get_json(silent=True) or {}
    openid = str(body.get("openid") or "").strip()
    accept, reject = body.get("accept") or [], body.get("reject") or []
    if not openid or not all(isinstance(item, str) for item in [*accept, *reject]) or not accept + reject:
        return jsonify(error="openid and the templates accepted or rejected are required"), 400
    return jsonify(simulator().phone.subscribe(openid, accept, reject))


@blueprint.get("/api/inbox")
def inbox() -> Response | tuple[Response, int]:
    openid = request.args.get("openid", "")
    try:
        after = float(request.args.get("after", "0"))
    except ValueError:
        return jsonify(error="after must be a timestamp"), 400
    return jsonify(messages=simulator().phone.inbox(openid, after))


# -- the desk ----------------------------------------------------------------------------------
@blueprint.get("/api/desk")
def desk_view() -> Response:
    desk = simulator().desk
    if desk is None:
        return jsonify(sms=[], applications=[])
    return jsonify(sms=[{"challenge": challenge, "code": code} for challenge, code in desk.recent_sms()],
                   applications=[_application(a) for a in desk.under_review()])


@blueprint.post("/api/desk/decide")
def decide() -> Response | tuple[Response, int]:
    desk = simulator().desk
    body = request.get_json(silent=True) or {}
    if desk is None:
        return jsonify(error="the binding service is not the sandbox"), 409
    approve, reason = bool(body.get("approve")), body.get("reason")
    if not approve and reason not in REJECT_REASONS:
        return jsonify(error=f"reason must be one of {', '.join(REJECT_REASONS)}"), 400
    try:
        decided = desk.decide(str(body.get("application_id", "")), approve=approve,
                              reason=None if approve else reason)
    except e.BindingError as error:
        return jsonify(error=error.message), error.http_status
    return jsonify(status=decided.status.value)


def _application(application: Any) -> dict[str, Any]:
    return {"application_id": application.application_id, "relationship": LABELS[application.relationship],
            "member": application.member_masked_name, "id_number": application.member_masked_id_number,
            "submitted_at": application.submitted_at.isoformat()}
