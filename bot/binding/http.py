"""The adapter for the bureau's real system, over the REST contract of docs/binding-api.yaml.

Every call is signed and has a timeout; idempotent calls are retried with backoff (tenacity);
a circuit breaker (pybreaker) stops calling a system that keeps failing, so users get a polite
"try again later" at once instead of after every timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pybreaker
import requests
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from bot.binding import errors as e
from bot.binding.contract import OPERATIONS, Operation
from bot.binding.signing import SigningKey, sign
from bot.config import BindingSettings
from bot.logs import log


class _Transient(Exception):
    """A timeout, a refused connection or a 5xx: worth another try if the call is idempotent."""


def _is_domain_error(exc: BaseException) -> bool:
    # A refusal by the bureau's rules is an answer, not a failure of the system.
    return isinstance(exc, e.BindingError) and not isinstance(exc, e.ServiceUnavailable)


class HttpBindingService:
    def __init__(self, settings: BindingSettings, session: requests.Session | None = None) -> None:
        self.base_url = settings.http.base_url.rstrip("/")
        self.key = SigningKey(settings.key_id, settings.secret)
        self.timeout = (settings.http.connect_timeout, settings.http.timeout)
        self.retries = settings.http.retries
        self.breaker = pybreaker.CircuitBreaker(fail_max=settings.http.breaker_failures,
                                                reset_timeout=settings.http.breaker_reset,
                                                exclude=[_is_domain_error], name="binding-service")
        self._http = session or requests.Session()

    def call(self, op: Operation, *args: Any) -> BaseModel:
        params, body = args[:len(op.params)], (args[len(op.params)] if op.body else None)
        path = op.path.format(**dict(zip(op.params, (requests.utils.quote(str(p), safe="") for p in params), strict=False)))
        try:
            return self.breaker.call(self._with_retries, op, path, body)
        except pybreaker.CircuitBreakerError:
            raise e.ServiceUnavailable("circuit open: the binding service has been failing") from None

    def _with_retries(self, op: Operation, path: str, body: BaseModel | None) -> BaseModel:
        attempts = 1 + (self.retries if op.idempotent else 0)
        try:
            for attempt in Retrying(stop=stop_after_attempt(attempts), reraise=True,
                                    wait=wait_exponential_jitter(multiplier=0.1, max=1.0, jitter=0.1),
                                    retry=retry_if_exception_type(_Transient)):
                with attempt:
                    return self._send(op, path, body)
        except _Transient as exc:
            log.warning("binding_service_unavailable", operation=op.name, reason=str(exc))
            raise e.ServiceUnavailable(str(exc)) from None
        raise AssertionError("unreachable")

    def _send(self, op: Operation, path: str, body: BaseModel | None) -> BaseModel:
        data = body.model_dump_json().encode() if body is not None else b""
        headers = {"Accept": "application/json", **sign(self.key, op.method, path, data)}
        if body is not None:
            headers["Content-Type"] = "application/json"
            if key := getattr(body, "idempotency_key", None):
                headers["Idempotency-Key"] = key
        try:
            response = self._http.request(op.method, self.base_url + path, data=data or None,
                                          headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Transient(type(exc).__name__) from None
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            raise e.error_from_json(response.status_code, payload)
        try:
            return op.response.model_validate_json(response.content)
        except ValidationError:
            raise _Transient("malformed response") from None


def _bind(op: Operation) -> Callable[..., BaseModel]:
    def method(self: HttpBindingService, *args: Any) -> BaseModel:
        return self.call(op, *args)
    method.__name__ = op.name
    method.__doc__ = f"{op.method} {op.path}: {op.summary}"
    return method


# One method per operation of the contract, named as in BindingService.
for _op in OPERATIONS:
    setattr(HttpBindingService, _op.name, _bind(_op))
