"""Run a WSGI app on a loopback port in a background thread (the local run's helpers)."""

from __future__ import annotations

import os
import threading

from werkzeug.serving import BaseWSGIServer, make_server


class BackgroundServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:  # noqa: ANN001
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        # A short poll interval: stop() returns in milliseconds, not half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._owner_pid = os.getpid()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child has the object but not the thread serving it
        self._server.shutdown()
        self._server.server_close()
