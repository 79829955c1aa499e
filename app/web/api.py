"""The analysts' JSON API: `GET /api/reports/uptake`, by personal token or signed-in session.

Authentication: `Authorization: Bearer <token>` (a personal token an admin issued with
`flask users token`, stored hashed), or the browser session. The caller's role decides
what comes back, exactly as on the report page: suppressed for everyone unless an admin
asks for `raw=1`; practice staff get only their practices' figures. Every call is audited.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from app.domain import report_csv
from app.domain.funnel import ReportError
from app.domain.quarterly import QuarterError
from app.runtime import get_clock, get_db
from app.services import api_token, quarterly, reports
from app.web.quarterly import build as build_quarterly
from app.web.reports import (
    Viewer,
    allowed_campaigns,
    audit_export,
    max_age,
    rule,
    signed_in_viewer,
)
from app.web.security import current_user, limiter

bp = Blueprint("api", __name__, url_prefix="/api")


def _unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message, www_authenticate=WWWAuthenticate("Bearer", {"realm": "nudge"}))


def caller() -> Viewer:
    """The viewer behind this request: the bearer token's user, else the session's."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer <token>'")
        with get_db().transaction() as session:
            who = api_token.identify(session, token.strip())
        if who is None:
            raise _unauthorized("unknown or revoked API token")
        return Viewer(who.email, who.role, who.practice_ids)
    if current_user.is_authenticated:
        return signed_in_viewer()
    raise _unauthorized("sign in or send a personal API token")


@bp.get("/reports/uptake")
@limiter.limit("120 per minute")
def uptake() -> Response:
    viewer = caller()
    if viewer.role not in ("admin", "analyst", "practice"):
        abort(403)
    raw_id = request.args.get("campaign", "")
    try:
        campaign_id = int(raw_id)
    except ValueError:
        abort(400, "campaign must be a campaign id (a whole number)")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        abort(400, "format must be json or csv")
    raw = request.args.get("raw", "") in ("1", "true")
    if raw and not viewer.may_see_raw:
        abort(403, "unsuppressed figures are for admins only")
    by = [d for d in request.args.get("by", "").split(",") if d.strip()]
    db = get_db()
    if campaign_id not in {c.id for c in reports.list_campaigns(db)}:
        abort(404, "no such campaign")
    if campaign_id not in {c.id for c in allowed_campaigns(viewer)}:
        abort(403, "this campaign has no figures for your practices")
    try:
        result = reports.uptake(
            db,
            campaign_ids=[campaign_id],
            by=by,
            practice_ids=viewer.scope,
            raw=raw,
            rule=rule(),
            now=get_clock().now(),
            max_age=max_age(),
        )
    except ReportError as exc:
        abort(400, str(exc))
    audit_export(viewer, "uptake", [campaign_id], by=by, raw=raw, via="api", format=fmt)
    if fmt == "csv":
        name = f"nudge-uptake-{campaign_id}-{'raw' if raw else 'suppressed'}.csv"
        return Response(
            report_csv.uptake_csv(result),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    response = jsonify(result.as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/reports/quarterly")
@limiter.limit("120 per minute")
def quarterly_return() -> Response:
    """`?quarter=2026Q3[&format=csv][&raw=1]`: the quarterly return, as on its page."""
    viewer = caller()
    if viewer.role not in ("admin", "analyst", "practice"):
        abort(403)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        abort(400, "format must be json or csv")
    raw = request.args.get("raw", "") in ("1", "true")
    try:
        result = build_quarterly(viewer, request.args.get("quarter", ""), raw, "api")
    except QuarterError as exc:
        abort(400, str(exc))
    if fmt == "csv":
        return Response(quarterly.quarterly_csv(result), mimetype="text/csv")
    response = jsonify(result.as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response
