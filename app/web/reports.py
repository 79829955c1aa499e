"""The analysts' report page: campaign chooser, funnel, breakdown, equity, trial; CSV downloads.

Who sees what: analysts aggregates only, always suppressed; practice staff only their
own practices' figures, suppressed; admins everything, suppressed unless they tick
"unsuppressed". Every view and every CSV says which it shows, and every download is
audited (who exported what).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from app.clock import LONDON
from app.domain import report_csv
from app.domain.funnel import (
    DIMENSIONS,
    FUNNEL,
    OUTCOME_STAGES,
    RATES,
    STAGES,
    GroupRow,
    ReportError,
    UptakeReport,
)
from app.domain.suppression import Rule
from app.runtime import get_clock, get_db, get_settings
from app.services import audit, reports
from app.web.display import london
from app.web.security import current_user, roles_required

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_ROLES = ("admin", "analyst", "practice")
TABLES = ("funnel", "uptake", "equity", "trial", "balance")


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as far as reports care: whose figures, and may they see them raw."""

    email: str
    role: str
    practice_ids: frozenset[int]

    @property
    def scope(self) -> frozenset[int] | None:
        """Practices whose figures this viewer may see; None = all (admins, analysts)."""
        return self.practice_ids if self.role == "practice" else None

    @property
    def may_see_raw(self) -> bool:
        return self.role == "admin"


def rule() -> Rule:
    config = current_app.config
    return Rule(int(config["SUPPRESS_BELOW"]), int(config["ROUND_TO"]))


def max_age() -> timedelta:
    return timedelta(seconds=int(current_app.config["REPORT_MAX_AGE_SECONDS"]))


def signed_in_viewer() -> Viewer:
    return Viewer(current_user.email, current_user.role, frozenset(current_user.practice_ids))


def allowed_campaigns(viewer: Viewer) -> list[reports.CampaignChoice]:
    return reports.list_campaigns(get_db(), practice_ids=viewer.scope)


def audit_export(viewer: Viewer, what: str, campaign_ids: Iterable[int], **detail: Any) -> None:
    """Record who exported which figures (ICO data sharing code: an audit trail)."""
    with get_db().transaction() as session:
        audit.record(
            session,
            now=get_clock().now(),
            actor=viewer.email,
            action="report.export",
            target=",".join(f"campaign:{i}" for i in campaign_ids)[:200],
            detail={"report": what, **detail},
            ip=request.remote_addr,
        )


@dataclass(frozen=True)
class Choice:
    campaign_ids: list[int]
    by: list[str]
    within: str | None
    raw: bool


def _choice(viewer: Viewer, campaigns: list[reports.CampaignChoice]) -> Choice:
    allowed = {c.id for c in campaigns}
    wanted: list[int] = []
    for raw_id in request.args.getlist("campaign"):
        try:
            wanted.append(int(raw_id))
        except ValueError:
            abort(404)
    if any(i not in allowed for i in wanted):
        abort(404)  # never reveal whether another practice's campaign exists
    start, end = request.args.get("from", ""), request.args.get("to", "")
    if not wanted and start and end:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            abort(400)
        begin = datetime.combine(first, time.min, LONDON)
        finish = datetime.combine(last, time.max, LONDON)
        running = reports.campaigns_between(get_db(), begin, finish)
        wanted = [i for i in running if i in allowed]
        if not wanted:
            abort(404)
    if not wanted and campaigns:
        # the newest campaign that has sent something: an empty one shows only zeros
        wanted = [next((c.id for c in campaigns if c.has_invitations), campaigns[0].id)]
    by = [d for d in (request.args.get("by1", ""), request.args.get("by2", "")) if d]
    by = list(dict.fromkeys(by))
    if any(d not in DIMENSIONS for d in by):
        abort(400)
    within = request.args.get("within") or None
    if within is not None and (within not in DIMENSIONS or within == "variant"):
        abort(400)
    raw = request.args.get("raw") == "1"
    if raw and not viewer.may_see_raw:
        abort(403)
    return Choice(wanted, by, within, raw)


@bp.get("")
@roles_required(*REPORT_ROLES)
def index() -> str:
    viewer = signed_in_viewer()
    campaigns = allowed_campaigns(viewer)
    choice = _choice(viewer, campaigns)
    uptake = trial = funnel = None
    error = None
    if choice.campaign_ids:
        db, now = get_db(), get_clock().now()
        try:
            funnel = reports.uptake(
                db,
                campaign_ids=choice.campaign_ids,
                practice_ids=viewer.scope,
                raw=choice.raw,
                rule=rule(),
                now=now,
                max_age=max_age(),
            )
            if choice.by:
                uptake = reports.uptake(
                    db,
                    campaign_ids=choice.campaign_ids,
                    by=choice.by,
                    practice_ids=viewer.scope,
                    raw=choice.raw,
                    rule=rule(),
                    now=now,
                    max_age=max_age(),
                )
            trial = reports.trial(
                db,
                campaign_ids=choice.campaign_ids,
                within=choice.within,
                practice_ids=viewer.scope,
                raw=choice.raw,
                rule=rule(),
                now=now,
                max_age=max_age(),
            )
        except ReportError as exc:
            error = str(exc)
    as_of = funnel.figures_as_of if funnel is not None else None
    return render_template(
        "reports/index.html",
        as_of=as_of,
        as_of_minutes=(
            None if as_of is None else int((get_clock().now() - as_of).total_seconds() // 60)
        ),
        refresh_minutes=max(1, int(max_age().total_seconds() // 60)),
        campaigns=campaigns,
        choice=choice,
        viewer=viewer,
        funnel=funnel,
        uptake=uptake,
        trial=trial,
        error=error,
        chart_data=_chart_data(funnel, uptake),
        dimensions=DIMENSIONS,
        stages=STAGES,
        funnel_stages=FUNNEL,
        outcome_stages=OUTCOME_STAGES,
        outcome_window_days=get_settings().outcome_window_days,
        rates=RATES,
        rule=rule(),
        london_time=london,
    )


@bp.post("/refresh")
@roles_required(*REPORT_ROLES)
def refresh_now() -> WerkzeugResponse:
    """Count the chosen campaigns' figures again now, then show the same report."""
    viewer = signed_in_viewer()
    allowed = {c.id for c in allowed_campaigns(viewer)}
    try:
        ids = [int(i) for i in request.form.getlist("campaign")]
    except ValueError:
        abort(400)
    if not ids or any(i not in allowed for i in ids):
        abort(404)
    reports.refresh(get_db(), ids, now=get_clock().now())
    query = request.form.get("query", "")
    return redirect(url_for("reports.index") + (f"?{query}" if query else ""), code=303)


@bp.get("/<table>.csv")
@roles_required(*REPORT_ROLES)
def download(table: str) -> Response:
    if table not in TABLES:
        abort(404)
    viewer = signed_in_viewer()
    campaigns = allowed_campaigns(viewer)
    choice = _choice(viewer, campaigns)
    if not choice.campaign_ids:
        abort(404)
    db, now = get_db(), get_clock().now()
    common: dict[str, Any] = {
        "campaign_ids": choice.campaign_ids,
        "practice_ids": viewer.scope,
        "raw": choice.raw,
        "rule": rule(),
        "now": now,
        "max_age": max_age(),
    }
    try:
        if table in {"trial", "balance"}:
            result = reports.trial(db, within=choice.within, **common)
            body = (
                report_csv.trial_csv(result) if table == "trial" else report_csv.balance_csv(result)
            )
        else:
            by = [] if table == "funnel" else choice.by
            report = reports.uptake(db, by=by, **common)
            body = (
                report_csv.equity_csv(report)
                if table == "equity"
                else report_csv.uptake_csv(report)
            )
    except ReportError as exc:
        abort(400, str(exc))
    audit_export(viewer, table, choice.campaign_ids, by=choice.by, raw=choice.raw, via="web")
    name = f"nudge-{table}-{'-'.join(map(str, choice.campaign_ids))}"
    name += "-raw" if choice.raw else "-suppressed"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _chart_data(funnel: UptakeReport | None, uptake: UptakeReport | None) -> dict[str, Any]:
    """What the charts draw, for a JSON <script> block (no inline script under the CSP).

    Suppressed figures are null: a chart must not draw what the table hides.
    """
    data: dict[str, Any] = {"funnel": None, "takeUp": None}
    if funnel is not None:
        data["funnel"] = {
            "labels": [STAGES[s] for s in FUNNEL],
            "values": [funnel.total.counts[s] for s in FUNNEL],
            "suppressed": funnel.suppressed,
        }
    if uptake is not None:
        cells = [g for g in uptake.groups if not g.is_margin]
        overall = uptake.total.rates["take_up"]
        first = list(dict.fromkeys(g.labels[0] for g in cells))
        if len(uptake.by) == 1:
            series = [{"label": "Take-up", "points": [_point(g) for g in cells]}]
        else:
            seconds = list(dict.fromkeys(g.labels[1] for g in cells))
            by_key = {g.labels: g for g in cells}
            series = [
                {
                    "label": s,
                    "points": [_point(by_key.get((f, s))) for f in first],
                }
                for s in seconds
            ]
        data["takeUp"] = {
            "labels": first,
            "series": series,
            "overall": None if overall.value is None else overall.value * 100,
            "axis": DIMENSIONS[uptake.by[0]],
        }
    return data


def _point(group: GroupRow | None) -> dict[str, Any] | None:
    """A bar, or why there is none: suppressed ("*", as in the table) or nobody invited
    ("–", as in the table); None when the group has no members at all."""
    if group is None:
        return None
    rate = group.rates["take_up"]
    if rate.value is None or rate.low is None or rate.high is None:
        return {"y": None, "suppressed": bool(rate.suppressed)}
    return {"y": rate.value * 100, "yMin": rate.low * 100, "yMax": rate.high * 100}
