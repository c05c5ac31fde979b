"""The browser simulator: a phone-like chat with the official account, its custom menu, photos and
template cards, beside the sandbox's desk (SMS codes, applications to approve or reject).

Every message goes through `Phone` to the real /wechat endpoint; the desk is the sandbox's own
reviewer, so a decision reaches the user by the product's real path (callback → decision →
notification queue → worker → WeChat API → the card in the chat).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request, send_from_directory

from bot.background import LOOPBACK_HOSTS
from bot.binding import errors as e
from bot.binding.sandbox.service import SandboxService
from bot.simulator.phone import Phone
from flows.domain.refusals import SHORT
from flows.domain.relationships import LABELS

STATIC = Path(__file__).parent / "static"
MAX_PHOTO = 5 * 1024 * 1024
# What the desk may give as the reason of a rejection (a few of the bureau's error codes).
REJECT_REASONS = ("proof_rejected", "name_id_mismatch", "member_not_insured", "member_bound_elsewhere")


def create_simulator(phone: Phone, desk: SandboxService | None = None, account: str = "医保家庭共济") -> Flask:
    app = Flask("wxbot_simulator", static_folder=None)
    app.config["TRUSTED_HOSTS"] = LOOPBACK_HOSTS
    app.config["MAX_CONTENT_LENGTH"] = MAX_PHOTO

    @app.get("/")
    def index() -> Response:
        return send_from_directory(STATIC, "index.html")

    @app.get("/consent/<code>")
    def consent(code: str) -> Response:
        """Where the sandbox's consent links lead: the member confirms from their own chat."""
        return send_from_directory(STATIC, "consent.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    @app.get("/api/config")
    def config() -> Response:
        return jsonify(account=account, menu=phone.menu(), mode=phone.side.mode, desk=desk is not None,
                       reject_reasons=[{"code": code, "text": SHORT[code]} for code in REJECT_REASONS])

    @app.post("/api/send")
    def send() -> Response | tuple[Response, int]:
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

    @app.post("/api/image")
    def image() -> Response | tuple[Response, int]:
        openid, photo = request.form.get("openid", "").strip(), request.files.get("photo")
        if not openid or photo is None:
            return jsonify(error="openid and photo are required"), 400
        return jsonify(replies=phone.image(openid, photo.read()))

    @app.get("/api/inbox")
    def inbox() -> Response | tuple[Response, int]:
        openid = request.args.get("openid", "")
        try:
            after = float(request.args.get("after", "0"))
        except ValueError:
            return jsonify(error="after must be a timestamp"), 400
        return jsonify(messages=phone.inbox(openid, after))

    @app.get("/api/desk")
    def desk_view() -> Response:
        if desk is None:
            return jsonify(sms=[], applications=[])
        return jsonify(sms=[{"challenge": challenge, "code": code} for challenge, code in desk.recent_sms()],
                       applications=[_application(a) for a in desk.under_review()])

    @app.post("/api/desk/decide")
    def decide() -> Response | tuple[Response, int]:
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

    return app


def _application(application: Any) -> dict[str, Any]:
    return {"application_id": application.application_id, "relationship": LABELS[application.relationship],
            "member": application.member_masked_name, "id_number": application.member_masked_id_number,
            "submitted_at": application.submitted_at.isoformat()}
