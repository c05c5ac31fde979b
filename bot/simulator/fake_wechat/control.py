"""What WeChat does not have: the tests' and the simulator's window into the fake API, under /fake/ —
what was sent, counters, faults to inject, users who wrote, clicked or unfollowed, photos users
send, and a reset."""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from bot.simulator.fake_wechat.state import current_state
from handlers.subscription_events import POPUP

blueprint = Blueprint("fake_control", __name__, url_prefix="/fake")


@blueprint.get("/sent")
def sent() -> ResponseReturnValue:
    return jsonify(current_state().sent)


@blueprint.get("/stats")
def stats() -> ResponseReturnValue:
    state = current_state()
    return jsonify(token_fetches=state.token_fetches, forced_fetches=len(state.forced),
                   pending_failures=len(state.failures), calls=state.calls, tickets=state.tickets)


@blueprint.post("/fail")
def fail() -> ResponseReturnValue:
    """Queue faults for the next calls: [{"status": 502} | {"errcode": 45009} | {"delay": 3}],
    each optionally limited to paths containing {"path": "template"}; an errcode (any: -1, 40037,
    47003 …) comes with WeChat's errmsg if the fault gives one ({"errmsg": "…"}). A fault with
    {"seconds": N} is an outage: every matching call fails that way for N seconds from now."""
    state = current_state()
    faults = request.get_json(force=True)
    for fault in faults:
        if "seconds" in fault:
            fault["until"] = time.time() + float(fault.pop("seconds"))
    with state.lock:
        state.failures.extend(faults)
    return jsonify(queued=len(state.failures))


@blueprint.post("/interact")
def interact() -> ResponseReturnValue:
    """The user wrote to the account ("message") or clicked / followed ("event")."""
    state = current_state()
    body = request.get_json(force=True)
    with state.lock:
        state.interactions[body["openid"]] = (body.get("kind", "message"), time.time(), 0)
        state.unfollowed.discard(body["openid"])
    return jsonify(ok=True)


@blueprint.post("/unfollow")
def unfollow() -> ResponseReturnValue:
    state = current_state()
    with state.lock:
        state.unfollowed.add(request.get_json(force=True)["openid"])
    return jsonify(ok=True)


@blueprint.post("/subscribe_popup")
def subscribe_popup() -> ResponseReturnValue:
    """The user's choices in WeChat's subscription pop-up: {"openid", "accept": [template ids],
    "reject": [...], "long_term": [the ids that are long-term notices]}. Recorded, then pushed to
    the account's webhook as subscribe_msg_popup_event — unless {"push": false} (a push WeChat lost)."""
    state = current_state()
    body = request.get_json(force=True)
    openid, long_term = body["openid"], set(body.get("long_term", []))
    choices = [(template_id, True) for template_id in body.get("accept", [])]
    choices += [(template_id, False) for template_id in body.get("reject", [])]
    for template_id, accepted in choices:
        state.subscribe(openid, template_id, accepted, template_id in long_term)
    pushed = 0
    if state.pushes and body.get("push", True) and choices:
        pushed = state.pushes.subscription_event(openid, POPUP, [
            {"TemplateId": template_id, "SubscribeStatusString": "accept" if accepted else "reject",
             "PopupScene": "1"} for template_id, accepted in choices])
    return jsonify(recorded=len(choices), pushed=pushed)


@blueprint.get("/subscriptions")
def subscriptions() -> ResponseReturnValue:
    """What WeChat holds for one user (?openid=): template id → status, long_term, sends left."""
    openid = request.args.get("openid", "")
    state = current_state()
    with state.lock:
        held = {template_id: dict(value) for (who, template_id), value in state.subscriptions.items()
                if who == openid}
    return jsonify(held)


@blueprint.post("/media")
def add_media() -> ResponseReturnValue:
    media_id = secrets.token_hex(8)
    current_state().media[media_id] = request.get_data()
    return jsonify(media_id=media_id)


@blueprint.post("/reset")
def reset() -> ResponseReturnValue:
    state = current_state()
    with state.lock:
        state.sent.clear()
        state.failures.clear()
        state.unfollowed.clear()
        state.interactions.clear()
        state.client_msg_ids.clear()
        state.token, state.token_expires, state.token_fetches = "", 0.0, 0
        state.forced.clear()
        state.tickets.clear()
        state.subscriptions.clear()
    return jsonify(ok=True)
