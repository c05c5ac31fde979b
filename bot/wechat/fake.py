"""A fake of WeChat's server API for the local run and the tests.

It speaks the real protocol for the endpoints the product uses — tokens and customer-service
messages so far — checks tokens as WeChat does, records what was sent, and can be told to fail.
Inspection endpoints live under /fake/.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request

TOKEN_LIFETIME = 7200


@dataclass
class FakeWeChatState:
    appid: str
    secret: str
    token: str = ""
    token_expires: float = 0.0
    token_fetches: int = 0
    sent: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # queued faults, each used once
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_token(self, force: bool) -> dict:
        with self.lock:
            self.token_fetches += 1
            if force or not self.token or time.time() >= self.token_expires:
                self.token = secrets.token_urlsafe(24)
                self.token_expires = time.time() + TOKEN_LIFETIME
            return {"access_token": self.token, "expires_in": int(self.token_expires - time.time())}

    def token_valid(self, token: str | None) -> bool:
        return bool(token) and token == self.token and time.time() < self.token_expires

    def next_failure(self) -> dict | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None


def create_fake_wechat(appid: str, secret: str) -> Flask:
    state = FakeWeChatState(appid, secret)
    app = Flask("fake_wechat")
    app.extensions["fake_wechat"] = state

    def credentials_ok(appid_: str | None, secret_: str | None) -> bool:
        return appid_ == state.appid and secret_ == state.secret

    @app.get("/cgi-bin/token")
    def token():  # noqa: ANN202
        args = request.args
        if args.get("grant_type") != "client_credential" or not credentials_ok(args.get("appid"), args.get("secret")):
            return jsonify(errcode=40013, errmsg="invalid appid or secret")
        return jsonify(state.issue_token(force=True))  # /token always rotates

    @app.post("/cgi-bin/stable_token")
    def stable_token():  # noqa: ANN202
        body = request.get_json(silent=True) or {}
        if body.get("grant_type") != "client_credential" or not credentials_ok(body.get("appid"), body.get("secret")):
            return jsonify(errcode=40013, errmsg="invalid appid or secret")
        return jsonify(state.issue_token(force=bool(body.get("force_refresh"))))

    @app.post("/cgi-bin/message/custom/send")
    def custom_send():  # noqa: ANN202
        failure = state.next_failure()
        if failure:
            if failure.get("delay"):
                time.sleep(failure["delay"])
            if failure.get("status"):
                return "fault", failure["status"]
            if failure.get("errcode"):
                return jsonify(errcode=failure["errcode"], errmsg="fault injected")
        if not state.token_valid(request.args.get("access_token")):
            return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid or not latest")
        body = request.get_json(force=True, silent=True) or {}
        if not body.get("touser") or body.get("msgtype") not in {"text", "image", "news", "miniprogrampage"}:
            return jsonify(errcode=40008, errmsg="invalid message type")
        with state.lock:
            state.sent.append({"kind": "custom", "at": time.time(), **body})
        return jsonify(errcode=0, errmsg="ok")

    @app.get("/fake/sent")
    def sent():  # noqa: ANN202
        return jsonify(state.sent)

    @app.get("/fake/stats")
    def stats():  # noqa: ANN202
        return jsonify(token_fetches=state.token_fetches)

    @app.post("/fake/fail")
    def fail():  # noqa: ANN202
        """Queue faults for the next calls: [{"status": 502} | {"errcode": 40001} | {"delay": 3}]."""
        with state.lock:
            state.failures.extend(request.get_json(force=True))
        return jsonify(queued=len(state.failures))

    @app.post("/fake/reset")
    def reset():  # noqa: ANN202
        with state.lock:
            state.sent.clear()
            state.failures.clear()
            state.token, state.token_expires, state.token_fetches = "", 0.0, 0
        return jsonify(ok=True)

    return app
