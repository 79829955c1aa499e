"""A request id on every request and one access-log line per response.

The id comes from the proxy (nginx sends `$request_id` as X-Request-ID) when it looks
like one, else it is made here; it is echoed in the response and carried by every log
line written while the request runs. The access line names the route pattern, not the
path: paths and query strings can carry calendar tokens and patient searches.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from werkzeug.wrappers import Response

from app.logs import request_id_var

log = logging.getLogger("nudge.access")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def _start() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _VALID_ID.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.request_id_token = request_id_var.set(g.request_id)


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    log.info(
        "%s %s %s",
        request.method,
        request.url_rule.rule if request.url_rule else "(no route)",
        response.status_code,
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else None,
            "endpoint": request.endpoint,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "client": request.remote_addr,
        },
    )
    return response


def _forget(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        request_id_var.reset(token)


def init_app(app: Flask) -> None:
    # first of all before_request hooks, so a request another hook refuses (CSRF, sign-in)
    # still has its id and is timed from the start
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_forget)
