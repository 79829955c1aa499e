"""The quarterly return page: offered, received and take-up per local authority and
practice for one quarter, with its definitions, disclosure and reconciliation line.

Who sees what is as on the report page (app.web.reports): analysts and practice staff
suppressed figures (practice staff their own practices only), admins may ask for them
unsuppressed; every view and download is audited.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request

from app.clock import LONDON
from app.domain.quarterly import MEASURES, RATES, QuarterError, parse_quarter
from app.runtime import get_clock, get_db
from app.services import quarterly
from app.web.reports import REPORT_ROLES, Viewer, audit_export, max_age, rule, signed_in_viewer
from app.web.security import roles_required

bp = Blueprint("quarterly", __name__, url_prefix="/reports/quarterly")


def current_quarter_label() -> str:
    today = get_clock().now().astimezone(LONDON).date()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def build(viewer: Viewer, quarter: str, raw: bool, via: str) -> quarterly.QuarterlyReturn:
    """The return as this viewer may see it, audited; QuarterError for a bad quarter."""
    if raw and not viewer.may_see_raw:
        abort(403, "unsuppressed figures are for admins only")
    result = quarterly.quarterly_return(
        get_db(), quarter=quarter, rule=rule(), now=get_clock().now(), raw=raw,
        practice_ids=viewer.scope, max_age=max_age(),
    )  # fmt: skip
    audit_export(viewer, f"quarterly:{result.quarter.label}", [], raw=raw, via=via)
    return result


@bp.get("")
@roles_required(*REPORT_ROLES)
def index() -> str | Response | tuple[str, int]:
    viewer = signed_in_viewer()
    chosen = request.args.get("quarter", "").strip() or current_quarter_label()
    raw = viewer.may_see_raw and request.args.get("raw", "") in ("1", "true", "on")
    error = None
    result = None
    try:
        parse_quarter(chosen)
        result = build(viewer, chosen, raw, "page")
    except QuarterError as exc:
        error = str(exc)
    if result is not None and request.args.get("format") == "csv":
        name = f"nhs-health-check-return-{result.quarter.label}-{'raw' if raw else 'suppressed'}"
        return Response(
            quarterly.quarterly_csv(result),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    page = render_template(
        "reports/quarterly.html",
        viewer=viewer,
        chosen=chosen,
        raw=raw,
        result=result,
        error=error,
        measures=MEASURES,
        rates=RATES,
        last_day=(result.quarter.end_day - timedelta(days=1)) if result else None,
    )
    return page, (400 if error else 200)
