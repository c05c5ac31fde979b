"""What the fake WeChat API knows: its access token, what was sent, the menu, the media, the users'
customer-service windows, and the faults it was told to inject. One per app, shared by both
blueprints (protocol.py, control.py), which find it with `current_state()`."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from bot.simulator.fake_wechat.pushes import Pushes

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
    tickets: list[str] = field(default_factory=list)      # jsapi_tickets issued, the newest last
    # (openid, template id) -> {"status": accept | reject, "long_term": bool, "left": one-time sends left}
    subscriptions: dict[tuple[str, str], dict] = field(default_factory=dict)
    pushes: Pushes | None = None                          # the account's webhook, to push events to
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

    def issue_ticket(self) -> dict:
        with self.lock:
            self.tickets.append(secrets.token_urlsafe(64))
            return {"ticket": self.tickets[-1], "expires_in": TOKEN_LIFETIME}

    def subscribe(self, openid: str, template_id: str, accepted: bool, long_term: bool) -> None:
        """The user's choice in a subscription pop-up: each accept of a one-time notice allows one send."""
        with self.lock:
            held = self.subscriptions.get((openid, template_id), {"left": 0})
            left = held["left"] + 1 if accepted and not long_term else (held["left"] if accepted else 0)
            self.subscriptions[(openid, template_id)] = {"status": "accept" if accepted else "reject",
                                                         "long_term": long_term, "left": left}

    def use_subscription(self, openid: str, template_id: str) -> bool:
        """Whether a notice may go to the user now; a one-time subscription is used up by it."""
        with self.lock:
            held = self.subscriptions.get((openid, template_id))
            if not held or held["status"] != "accept" or (not held["long_term"] and held["left"] < 1):
                return False
            if not held["long_term"]:
                held["left"] -= 1
            return True

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


def current_state() -> FakeWeChatState:
    """The state of the app serving this request (create_fake_wechat puts it there)."""
    return current_app.extensions["fake_wechat"]
