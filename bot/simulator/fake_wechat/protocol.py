"""WeChat's side of the protocol: access tokens, jsapi_tickets, customer-service and template
messages, subscription notices, the custom menu and media, each refused with WeChat's own error
codes where WeChat refuses it. Every call but the token endpoints first meets the injected faults,
then the access-token check."""

from __future__ import annotations

import re
import time

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from bot.menu import REQUIRED
from bot.simulator.fake_wechat.state import CLIENT_MSG_ID_WINDOW, current_state
from handlers.subscription_events import SENT

blueprint = Blueprint("wechat_api", __name__)


def _error(code: int, message: str) -> Response:
    return jsonify(errcode=code, errmsg=message)


def _api_call() -> bool:
    """An API call that needs an access token (not the token endpoints, not /fake/)."""
    return not (request.path.startswith("/fake/") or "token" in request.path)


# App-wide, not the blueprint's own: a call to a path WeChat does not have (404) or with the wrong
# method (405) is counted and token-checked too, as it always was.
@blueprint.before_app_request
def inject_faults() -> ResponseReturnValue:
    if not _api_call():
        return None
    state = current_state()
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
        return _error(failure["errcode"], failure.get("errmsg", "fault injected"))
    return None


@blueprint.before_app_request
def check_token() -> ResponseReturnValue:
    if not _api_call():
        return None
    if not current_state().token_valid(request.args.get("access_token")):
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    return None


def _credentials_ok(appid: str | None, secret: str | None) -> bool:
    state = current_state()
    return appid == state.appid and secret == state.secret


@blueprint.get("/cgi-bin/token")
def token() -> ResponseReturnValue:
    args = request.args
    if args.get("grant_type") != "client_credential" or not _credentials_ok(args.get("appid"), args.get("secret")):
        return _error(40013, "invalid appid or secret")
    return jsonify(current_state().issue_token(force=True))  # /token always rotates


@blueprint.post("/cgi-bin/stable_token")
def stable_token() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    if body.get("grant_type") != "client_credential" or not _credentials_ok(body.get("appid"), body.get("secret")):
        return _error(40013, "invalid appid or secret")
    return jsonify(current_state().issue_token(force=bool(body.get("force_refresh"))))


@blueprint.get("/cgi-bin/ticket/getticket")
def getticket() -> ResponseReturnValue:
    """The JS-SDK's jsapi_ticket (type=jsapi), valid 7200 s."""
    if request.args.get("type") != "jsapi":
        return _error(40097, "invalid args")
    return jsonify(errcode=0, errmsg="ok", **current_state().issue_ticket())


@blueprint.post("/cgi-bin/message/custom/send")
def custom_send() -> ResponseReturnValue:
    state = current_state()
    body = request.get_json(force=True, silent=True) or {}
    openid = body.get("touser")
    if not openid or body.get("msgtype") not in {"text", "image", "news", "miniprogrampage"}:
        return _error(40008, "invalid message type")
    if openid in state.unfollowed:
        return _error(43004, "require subscribe")
    refused = state.use_window(openid)
    if refused:
        return _error(refused, "response out of time limit or subscription is canceled"
                      if refused == 45015 else "reach max api daily quota limit")
    with state.lock:
        state.sent.append({"kind": "custom", "at": time.time(), **body})
    return _error(0, "ok")


@blueprint.post("/cgi-bin/message/template/send")
def template_send() -> ResponseReturnValue:
    state = current_state()
    body = request.get_json(force=True, silent=True) or {}
    openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
    if not openid or not template_id or not isinstance(data, dict):
        return _error(47001, "data format error")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or len(value) > 20 or "\n" in value:
            return _error(47003, f"argument invalid! data.{key}.value invalid")
    if openid in state.unfollowed:
        return _error(43004, "require subscribe")
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


# A subscription notice's keyword types and their rules (WeChat's 参数值限制), by the keyword's name
# without its number: thing1 → thing.
_CHINESE = r"[\u4e00-\u9fff]"
_KEYWORD_RULES = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: re.fullmatch(f"{_CHINESE}{{1,5}}", v) is not None,
    "name": lambda v: len(v) <= (10 if re.search(_CHINESE, v) else 20),
    "character_string": lambda v: re.fullmatch(r"[\x21-\x7e]{1,32}", v) is not None,
    "number": lambda v: re.fullmatch(r"\d{1,32}(\.\d+)?", v) is not None,
    "time": lambda v: re.fullmatch(r"(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日? ?)?\d{1,2}:\d{2}(:\d{2})?", v) is not None,
    "date": lambda v: re.fullmatch(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?( \d{1,2}:\d{2}(:\d{2})?)?", v) is not None,
}


@blueprint.post("/cgi-bin/message/subscribe/bizsend")
def subscribe_send() -> ResponseReturnValue:
    """A subscription notice (订阅通知): it reaches users who do not follow, but only with a
    subscription to its template (43101), and each value must fit its keyword's type (47003).
    WeChat pushes the send's receipt (subscribe_msg_sent_event) to the account afterwards."""
    state = current_state()
    body = request.get_json(force=True, silent=True) or {}
    openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
    if not openid or not template_id or not isinstance(data, dict) or not data:
        return _error(47001, "data format error")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        rule = _KEYWORD_RULES.get(re.sub(r"\d+$", "", key))
        if not isinstance(value, str) or not value or "\n" in value or (rule and not rule(value)):
            return _error(47003, f"argument invalid! data.{key}.value invalid")
    if not state.use_subscription(openid, template_id):
        return _error(43101, "user refuse to accept the msg")
    with state.lock:
        msg_id = next(state.msg_ids)
        state.sent.append({"kind": "subscription", "at": time.time(), "msgid": msg_id, **body})
    if state.pushes:
        state.pushes.later(openid, SENT, [{"TemplateId": template_id, "MsgID": str(msg_id), "ErrorCode": "0",
                                           "ErrorStatus": "success"}])
    return _error(0, "ok")


@blueprint.post("/cgi-bin/menu/create")
def menu_create() -> ResponseReturnValue:
    body = request.get_json(force=True, silent=True) or {}
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return _error(40016, "invalid button size")
    for button in buttons:
        if len(button.get("name", "").encode()) > 16 or len(button.get("sub_button", [])) > 5:
            return _error(40017 if len(button.get("sub_button", [])) <= 5 else 40023, "invalid button")
        if any(leaf.get("type") not in REQUIRED for leaf in button.get("sub_button") or [button]):
            return _error(40017, "invalid button type")
    current_state().menu = body
    return _error(0, "ok")


@blueprint.get("/cgi-bin/menu/get")
def menu_get() -> ResponseReturnValue:
    menu = current_state().menu
    if menu is None:
        return _error(46003, "menu no exist")
    return jsonify(menu=menu)


@blueprint.get("/cgi-bin/menu/delete")
def menu_delete() -> ResponseReturnValue:
    current_state().menu = None
    return _error(0, "ok")


@blueprint.get("/cgi-bin/media/get")
def media_get() -> ResponseReturnValue:
    content = current_state().media.get(request.args.get("media_id", ""))
    if content is None:
        return _error(40007, "invalid media_id")
    return Response(content, mimetype="image/jpeg")
