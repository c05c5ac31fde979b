"""gunicorn's logs as the project's log lines (bot/logs.py): one JSON object a line, whatever a
request's path holds.

A gunicorn logger class rather than a Flask after_request hook, because gunicorn alone sees every
response — its own 400s for requests it could parse only in part, a response cut off mid-stream —
and times the whole exchange; and because its own messages (workers booting, invalid requests)
then become JSON lines as well.
"""

from __future__ import annotations

from datetime import timedelta

from gunicorn import glogging

from bot.logs import log, loggable_path, stdlib_formatter


class ServerLogs(glogging.Logger):
    def setup(self, cfg) -> None:  # noqa: ANN001 - gunicorn's Config
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(stdlib_formatter())

    def access(self, resp, req, environ, request_time: timedelta) -> None:  # noqa: ANN001 - gunicorn's objects
        """One `access` line a request: never the query string (WeChat puts the user's openid
        there), and the path as sent, escaped, so that it can neither break the line nor pass
        for another field."""
        log.info("access", method=getattr(req, "method", None), path=loggable_path(getattr(req, "path", "") or ""),
                 status=_status(resp), bytes=getattr(resp, "sent", None),
                 duration_ms=round(request_time.total_seconds() * 1000, 1))


def _status(resp) -> int | None:  # noqa: ANN001 - gunicorn's response object has no public type
    code = str(resp.status or "").split(" ", 1)[0]
    return int(code) if code.isdigit() else None
