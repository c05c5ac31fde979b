"""A fake of WeChat's server API for the local run and the tests.

It speaks the real protocol for every endpoint the product uses — access tokens, customer-service
and template messages, the custom menu, media — and checks requests as WeChat does: token
validity (40001), template values of at most 20 characters without line breaks (47003),
`client_msg_id` repeats within 10 minutes dropped, users who do not follow (43004), the
customer-service window (45015). It records what was sent and can be told to fail.
Inspection and control endpoints live under /fake/.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from bot.background import LOOPBACK_HOSTS

TOKEN_LIFETIME = 7200
CLIENT_MSG_ID_WINDOW = 600
# A message opens 48 h / 5 sends; a menu click or a follow opens 1 min / 3 sends.
WINDOWS = {"message": (48 * 3600, 5), "event": (60, 3)}


@dataclass
class FakeWeChatState:
    appid: str
    secret: str
    enforce_window: bool = True
    token: str = ""
    token_expires: float = 0.0
    token_fetches: int = 0
    forced: list[float] = field(default_factory=list)     # times of forced refreshes
    sent: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)   # queued faults, each used once
    calls: dict[str, int] = field(default_factory=dict)   # requests received, by path
    unfollowed: set[str] = field(default_factory=set)
    interactions: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # openid -> (kind, at, used)
    client_msg_ids: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    menu: dict | None = None
    media: dict[str, bytes] = field(default_factory=dict)
    msg_ids: itertools.count = field(default_factory=lambda: itertools.count(1_000_001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_token(self, force: bool) -> dict:
        with self.lock:
            self.token_fetches += 1
            if force:
                # stable_token's force mode: 20 a day; under 30 s after the last one it changes nothing.
                if len(self.forced) >= 20:
                    return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
                recent = self.forced and time.time() - self.forced[-1] < 30
                self.forced.append(time.time())
                force = not recent
            if force or not self.token or time.time() >= self.token_expires:
                self.token = secrets.token_urlsafe(24)
                self.token_expires = time.time() + TOKEN_LIFETIME
            return {"access_token": self.token, "expires_in": int(self.token_expires - time.time())}

    def token_valid(self, token: str | None) -> bool:
        return bool(token) and token == self.token and time.time() < self.token_expires

    def next_failure(self, path: str) -> dict | None:
        with self.lock:
            now = time.time()
            # An outage ("until") applies to every matching call until it ends; other faults once.
            self.failures = [f for f in self.failures if f.get("until", now) >= now]
            for i, failure in enumerate(self.failures):
                if failure.get("path", "") in path:
                    return failure if "until" in failure else self.failures.pop(i)
        return None

    def use_window(self, openid: str) -> int:
        """0 when a customer-service message may go out now, else WeChat's error code."""
        if not self.enforce_window:
            return 0
        with self.lock:
            kind, at, used = self.interactions.get(openid, ("", 0.0, 0))
            if not kind:
                return 45015
            seconds, limit = WINDOWS[kind]
            if time.time() - at > seconds:
                return 45015
            if used >= limit:
                return 45047
            self.interactions[openid] = (kind, at, used + 1)
            return 0


def create_fake_wechat(appid: str, secret: str, enforce_window: bool = True) -> Flask:
    state = FakeWeChatState(appid, secret, enforce_window=enforce_window)
    app = Flask("fake_wechat")
    app.config["TRUSTED_HOSTS"] = LOOPBACK_HOSTS
    app.extensions["fake_wechat"] = state

    def error(code: int, message: str) -> Response:
        return jsonify(errcode=code, errmsg=message)

    def api_call() -> bool:
        """An API call that needs an access token (not the token endpoints, not /fake/)."""
        return not (request.path.startswith("/fake/") or "token" in request.path)

    @app.before_request
    def inject_faults() -> ResponseReturnValue:
        if not api_call():
            return None
        with state.lock:
            state.calls[request.path] = state.calls.get(request.path, 0) + 1
        failure = state.next_failure(request.path)
        if failure is None:
            return None
        if failure.get("delay"):
            time.sleep(failure["delay"])
        if failure.get("status"):
            return Response("fault injected", status=failure["status"])
        if failure.get("errcode"):
            return error(failure["errcode"], "fault injected")
        return None

    @app.before_request
    def check_token() -> ResponseReturnValue:
        if not api_call():
            return None
        if not state.token_valid(request.args.get("access_token")):
            return error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    def credentials_ok(appid_: str | None, secret_: str | None) -> bool:
        return appid_ == state.appid and secret_ == state.secret

    @app.get("/cgi-bin/token")
    def token() -> ResponseReturnValue:
        args = request.args
        if args.get("grant_type") != "client_credential" or not credentials_ok(args.get("appid"), args.get("secret")):
            return error(40013, "invalid appid or secret")
        return jsonify(state.issue_token(force=True))  # /token always rotates

    @app.post("/cgi-bin/stable_token")
    def stable_token() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        if body.get("grant_type") != "client_credential" or not credentials_ok(body.get("appid"), body.get("secret")):
            return error(40013, "invalid appid or secret")
        return jsonify(state.issue_token(force=bool(body.get("force_refresh"))))

    @app.post("/cgi-bin/message/custom/send")
    def custom_send() -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        openid = body.get("touser")
        if not openid or body.get("msgtype") not in {"text", "image", "news", "miniprogrampage"}:
            return error(40008, "invalid message type")
        if openid in state.unfollowed:
            return error(43004, "require subscribe")
        refused = state.use_window(openid)
        if refused:
            return error(refused, "response out of time limit or subscription is canceled"
                         if refused == 45015 else "reach max api daily quota limit")
        with state.lock:
            state.sent.append({"kind": "custom", "at": time.time(), **body})
        return error(0, "ok")

    @app.post("/cgi-bin/message/template/send")
    def template_send() -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not openid or not template_id or not isinstance(data, dict):
            return error(47001, "data format error")
        for key, item in data.items():
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, str) or len(value) > 20 or "\n" in value:
                return error(47003, f"argument invalid! data.{key}.value invalid")
        if openid in state.unfollowed:
            return error(43004, "require subscribe")
        with state.lock:
            client_msg_id = body.get("client_msg_id")
            seen = state.client_msg_ids.get((openid, client_msg_id)) if client_msg_id else None
            if seen and time.time() - seen[0] < CLIENT_MSG_ID_WINDOW:
                return jsonify(errcode=0, errmsg="ok", msgid=seen[1])  # a repeat: not sent again
            msg_id = next(state.msg_ids)
            if client_msg_id:
                state.client_msg_ids[(openid, client_msg_id)] = (time.time(), msg_id)
            state.sent.append({"kind": "template", "at": time.time(), "msgid": msg_id, **body})
        return jsonify(errcode=0, errmsg="ok", msgid=msg_id)

    @app.post("/cgi-bin/menu/create")
    def menu_create() -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return error(40016, "invalid button size")
        for button in buttons:
            if len(button.get("name", "").encode()) > 16 or len(button.get("sub_button", [])) > 5:
                return error(40017 if len(button.get("sub_button", [])) <= 5 else 40023, "invalid button")
        state.menu = body
        return error(0, "ok")

    @app.get("/cgi-bin/menu/get")
    def menu_get() -> ResponseReturnValue:
        if state.menu is None:
            return error(46003, "menu no exist")
        return jsonify(menu=state.menu)

    @app.get("/cgi-bin/menu/delete")
    def menu_delete() -> ResponseReturnValue:
        state.menu = None
        return error(0, "ok")

    @app.get("/cgi-bin/media/get")
    def media_get() -> ResponseReturnValue:
        content = state.media.get(request.args.get("media_id", ""))
        if content is None:
            return error(40007, "invalid media_id")
        return Response(content, mimetype="image/jpeg")

    # -- inspection and control ----------------------------------------------------------------
    @app.get("/fake/sent")
    def sent() -> ResponseReturnValue:
        return jsonify(state.sent)

    @app.get("/fake/stats")
    def stats() -> ResponseReturnValue:
        return jsonify(token_fetches=state.token_fetches, forced_fetches=len(state.forced),
                       pending_failures=len(state.failures), calls=state.calls)

    @app.post("/fake/fail")
    def fail() -> ResponseReturnValue:
        """Queue faults for the next calls: [{"status": 502} | {"errcode": 45009} | {"delay": 3}],
        each optionally limited to paths containing {"path": "template"}. A fault with
        {"seconds": N} is an outage: every matching call fails that way for N seconds from now."""
        faults = request.get_json(force=True)
        for fault in faults:
            if "seconds" in fault:
                fault["until"] = time.time() + float(fault.pop("seconds"))
        with state.lock:
            state.failures.extend(faults)
        return jsonify(queued=len(state.failures))

    @app.post("/fake/interact")
    def interact() -> ResponseReturnValue:
        """The user wrote to the account ("message") or clicked / followed ("event")."""
        body = request.get_json(force=True)
        with state.lock:
            state.interactions[body["openid"]] = (body.get("kind", "message"), time.time(), 0)
            state.unfollowed.discard(body["openid"])
        return jsonify(ok=True)

    @app.post("/fake/unfollow")
    def unfollow() -> ResponseReturnValue:
        with state.lock:
            state.unfollowed.add(request.get_json(force=True)["openid"])
        return jsonify(ok=True)

    @app.post("/fake/media")
    def add_media() -> ResponseReturnValue:
        media_id = secrets.token_hex(8)
        state.media[media_id] = request.get_data()
        return jsonify(media_id=media_id)

    @app.post("/fake/reset")
    def reset() -> ResponseReturnValue:
        with state.lock:
            state.sent.clear()
            state.failures.clear()
            state.unfollowed.clear()
            state.interactions.clear()
            state.client_msg_ids.clear()
            state.token, state.token_expires, state.token_fetches = "", 0.0, 0
            state.forced.clear()
        return jsonify(ok=True)

    return app
