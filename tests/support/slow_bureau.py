"""The bureau as slow as a test wants: an HTTP proxy in front of `wxbot sandbox serve` that holds
each call for a set time before passing it on (POST /proxy/delay {"seconds": 2}). Calls, signatures
and answers pass through unchanged; a sandbox that does not answer the connection is a 502, which
the adapter takes as it takes a refused connection (a transient failure)."""

from __future__ import annotations

import threading
import time

import requests
from flask import Flask, Response, jsonify, request

_HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}


def create_proxy(upstream: str) -> Flask:
    """For one gunicorn worker (the delay lives in its memory), with a thread per call in flight."""
    app = Flask("slow_bureau")
    session, delay, lock = requests.Session(), {"seconds": 0.0}, threading.Lock()

    @app.route("/proxy/delay", methods=["GET", "POST"])
    def set_delay() -> Response:
        if request.method == "POST":
            with lock:
                delay["seconds"] = float(request.get_json()["seconds"])
        return jsonify(delay)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
    def forward(path: str) -> Response:
        time.sleep(delay["seconds"])
        headers = {name: value for name, value in request.headers if name.lower() not in _HOP_BY_HOP}
        try:
            answer = session.request(request.method, upstream + request.full_path.rstrip("?"), headers=headers,
                                     data=request.get_data(), timeout=60)
        except requests.RequestException:
            return Response("bureau unreachable", status=502)
        return Response(answer.content, status=answer.status_code,
                        content_type=answer.headers.get("Content-Type", "application/json"))

    return app
