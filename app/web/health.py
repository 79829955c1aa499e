"""`/healthz`, `/readyz` and `/metrics`: what load balancers, operators and Prometheus ask.

`/healthz` answers as long as the process serves requests (restart it if not);
`/readyz` answers 200 only when the database is reachable, its schema is at the code's
head and a scheduler beat recently (send no traffic otherwise); `/metrics` is for
Prometheus, behind a token or an address allow-list.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db, get_settings
from app.services import status
from app.web import metrics, request_log

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    result = status.readiness(
        get_db(),
        now=get_clock().now(),
        max_heartbeat_age=status.heartbeat_max_age(get_settings()),
    )
    body = jsonify(
        ready=result.ready,
        checks={
            "database": result.database,
            "migrations_at_head": result.migrations_at_head,
            "scheduler_alive": result.scheduler_alive,
        },
        problems=result.problems,
    )
    return body, 200 if result.ready else 503


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    if not metrics.allowed(
        current_app.config, request.headers.get("Authorization", ""), request.remote_addr
    ):
        abort(403)
    payload = metrics.exposition(get_db(), get_clock(), get_settings())
    return Response(payload, mimetype="text/plain; version=0.0.4; charset=utf-8")


def init_app(app: Flask) -> None:
    request_log.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(bp)
