"""Run a WSGI app on a loopback port in a background thread (the local run's helpers)."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.logs import loggable_path

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# What the local servers (the fake WeChat API, the simulator) answer to: Flask's TRUSTED_HOSTS
# refuses any other Host header with 400, so a web page whose name was made to resolve to
# 127.0.0.1 (DNS rebinding) cannot read the sandbox desk's SMS codes or the fake API's tokens.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]


class BackgroundServer:
    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                   request_handler=PathOnlyRequestLog)
        # A short poll interval: stop() returns in milliseconds, not half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._owner_pid = os.getpid()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child has the object but not the thread serving it
        self._server.shutdown()
        self._server.server_close()


class PathOnlyRequestLog(WSGIRequestHandler):
    """werkzeug's request log without the query string: the fake WeChat API's carries access
    tokens, the simulator's openids."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = loggable_path(urlsplit(getattr(self, "path", "")).path)
        self.log("info", '"%s %s" %s %s', getattr(self, "command", None) or "-", path, code, size)
