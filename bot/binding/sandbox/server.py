"""`wxbot sandbox serve`: the sandbox over exactly the REST contract the HTTP adapter speaks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, Response, request
from pydantic import ValidationError

from bot.binding import errors as e
from bot.binding.contract import OPERATIONS, Operation
from bot.binding.sandbox.service import SandboxService
from bot.binding.signing import SignatureError, SigningKey, verify

MAX_BODY = 64 * 1024


def create_sandbox_app(service: SandboxService, key: SigningKey, window: int = 300) -> Flask:
    app = Flask("binding_sandbox")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    def authenticate() -> Response | None:
        body = request.get_data()
        target = request.full_path.rstrip("?")
        try:
            nonce = verify(key, request.method, target, body, request.headers, window)
        except SignatureError as exc:
            return _error(e.InvalidRequest(f"signature: {exc}"), status=401)
        if not service.store.spend_nonce(nonce, ttl=2 * window):
            return _error(e.InvalidRequest("replayed request"), status=409)
        return None

    def view_for(op: Operation) -> Callable[..., Response]:
        def view(**params: str) -> Response:
            refused = authenticate()
            if refused is not None:
                return refused
            args: list[Any] = [params[name] for name in op.params]
            if op.body is not None:
                try:
                    args.append(op.body.model_validate_json(request.get_data()))
                except ValidationError as exc:
                    return _error(e.InvalidRequest(f"body: {exc.error_count()} invalid field(s)"))
            try:
                result = getattr(service, op.name)(*args)
            except e.BindingError as error:
                return _error(error)
            except redis.RedisError:
                return _error(e.ServiceUnavailable("sandbox storage unavailable"))
            return Response(result.model_dump_json(), mimetype="application/json")
        view.__name__ = op.name
        return view

    for op in OPERATIONS:
        app.add_url_rule(re.sub(r"{(\w+)}", r"<\1>", op.path), view_func=view_for(op), methods=[op.method])

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status": "ok"}', mimetype="application/json")

    return app


def _error(error: e.BindingError, status: int | None = None) -> Response:
    return Response(json.dumps(error.to_json(), ensure_ascii=False), status=status or error.http_status,
                    mimetype="application/json")
