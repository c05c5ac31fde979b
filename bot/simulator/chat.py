"""`wxbot chat`: the simulator's conversation in a terminal. A client of the simulator's HTTP API,
so it is the same path (the real /wechat endpoint) and the same desk as the browser."""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

HELP = """Type a message and press Enter. Commands:
  /menu                 the custom menu, with its keys
  /click KEY|NAME       press a menu button (e.g. /click 我的家人)
  /photo FILE           send a photo
  /voice [TEXT]         a voice message WeChat heard as TEXT (nothing: it heard nothing)
  /user [OPENID]        switch to another simulated user (a new one if none is given)
  /sms                  the sandbox's latest SMS codes
  /review               applications waiting for manual review
  /approve ID           approve one;  /reject ID REASON   reject one (REASON e.g. proof_rejected)
  /subscribe [no]       WeChat's subscription pop-up: allow the subscription notices (no: refuse them)
  /quit"""


class TerminalChat:
    def __init__(self, simulator_url: str, openid: str | None = None,
                 write: Callable[[str], None] = print, poll_every: float = 1.0) -> None:
        self.url = simulator_url.rstrip("/")
        self.write = write
        self.openid = openid or self._new_openid()
        self.config = self._get("/api/config")
        self.buttons = [b for top in self.config["menu"] for b in (top.get("sub_button") or [top])]
        self.seen: dict[str, float] = {}
        self.poll_every = poll_every
        self._stop = threading.Event()

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, read: Callable[[str], str] = input) -> None:
        self.write(f"{self.config['account']} · you are {self.openid} · /help for commands")
        self._show(self._post({"follow": True}))
        poller = threading.Thread(target=self._poll, daemon=True)
        poller.start()
        try:
            while True:
                try:
                    line = read("> ").strip()
                except EOFError:
                    break
                if line in ("/quit", "/exit"):
                    break
                if line:
                    self.handle(line)
        finally:
            self._stop.set()
            self.check_inbox()   # whatever arrived last

    def handle(self, line: str) -> None:
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            if not line.startswith("/"):
                self._show(self._post({"text": line}))
            elif command == "/help":
                self.write(HELP)
            elif command == "/menu":
                self.write("\n".join(f"  {b['name']:<8} {b.get('key') or b.get('url', '')}" for b in self.buttons))
            elif command == "/click":
                key = next((b.get("key") for b in self.buttons if rest in (b["name"], b.get("key"))), None)
                if key is None:
                    self.write(f"no menu button {rest!r}: see /menu")
                else:
                    self._show(self._post({"click": key}))
            elif command == "/voice":
                self._show(self._post({"voice": rest}))
            elif command == "/photo":
                with Path(rest).expanduser().open("rb") as photo:
                    response = requests.post(f"{self.url}/api/image", data={"openid": self.openid},
                                             files={"photo": photo}, timeout=15)
                self._show(self._checked(response)["replies"])
            elif command == "/user":
                self.openid = rest or self._new_openid()
                self.write(f"you are now {self.openid}")
                if not rest:
                    self._show(self._post({"follow": True}))
            elif command == "/sms":
                self.write("\n".join(f"  {s['code']}  ({s['challenge']})" for s in self._get("/api/desk")["sms"])
                           or "  (none)")
            elif command == "/review":
                self.write("\n".join(f"  {a['application_id']}  {a['relationship']} {a['member']} ({a['id_number']})"
                                     for a in self._get("/api/desk")["applications"]) or "  (none)")
            elif command == "/subscribe":
                ids = [notice["template_id"] for notice in self.config.get("notices", [])]
                if not ids:
                    self.write("  no subscription notices in the settings")
                else:
                    refused = rest in ("no", "reject")
                    self._checked(requests.post(f"{self.url}/api/subscribe", timeout=10, json={
                        "openid": self.openid, "accept": [] if refused else ids, "reject": ids if refused else []}))
                    self.write(f"  {'refused' if refused else 'allowed'}: {', '.join(ids)}")
            elif command in ("/approve", "/reject"):
                application_id, _, reason = rest.partition(" ")
                decided = self._checked(requests.post(f"{self.url}/api/desk/decide", timeout=10, json={
                    "application_id": application_id, "approve": command == "/approve", "reason": reason.strip()}))
                self.write(f"  {application_id}: {decided['status']}")
            else:
                self.write(f"unknown command {command}: /help")
        except (requests.RequestException, OSError, RuntimeError) as exc:
            self.write(f"! {exc}")

    def check_inbox(self) -> None:
        messages = self._get(f"/api/inbox?openid={self.openid}&after={self.seen.get(self.openid, 0)}")["messages"]
        for message in messages:
            self.seen[self.openid] = max(self.seen.get(self.openid, 0), message["at"])
            self._show([message])

    # -- internals ---------------------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.wait(self.poll_every):
            try:
                self.check_inbox()
            except (requests.RequestException, RuntimeError):
                pass  # the simulator is restarting: the next round will tell

    def _show(self, replies: list[dict[str, Any]]) -> None:
        for reply in replies:
            if reply["type"] == "template":
                rows = "\n".join(f"│ {row['label']}：{row['value']}" for row in reply["rows"])
                self.write(f"┌ 【{reply['title']}】\n{rows}\n└")
            else:
                # WeChat shows <a href="…">text</a> as a link: here, the text and its address.
                text = re.sub(r'<a href="([^"]*)">([^<]*)</a>', lambda m: f"{m[2]} {html.unescape(m[1])}",
                              reply.get("text") or "")
                self.write(text or f"[{reply['type']}]")

    def _post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self._checked(requests.post(f"{self.url}/api/send", json={"openid": self.openid, **body},
                                           timeout=15))["replies"]

    def _get(self, path: str) -> dict[str, Any]:
        return self._checked(requests.get(self.url + path, timeout=10))

    @staticmethod
    def _checked(response: requests.Response) -> dict[str, Any]:
        body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
        if response.status_code != 200:
            raise RuntimeError(body.get("error") or f"HTTP {response.status_code}")
        return body

    @staticmethod
    def _new_openid() -> str:
        return f"o_chat_{secrets.token_hex(4)}"
