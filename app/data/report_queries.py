"""Report queries: approved campaigns, and the funnel's stage counts by group (GROUP BY).

Every aggregate is one GROUP BY over campaign_member (its snapshot columns and funnel
stamps): no member row is loaded into Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from app.data.models import Campaign, CampaignMember, CheckOutcome, Message, Practice
from app.domain import outcomes
from app.domain.funnel import STAGES, ReportError
from app.domain.report_tables import Cells


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str
    state: str
    approved_at: datetime | None
    has_invitations: bool = False  # any text sent for it: a report would show something


def list_approved_campaigns(
    session: Session, practice_ids: Iterable[int] | None = None
) -> list[CampaignChoice]:
    """Approved campaigns, newest first; with `practice_ids`, those touching them."""
    sent = (
        select(Message.id)
        .where(Message.campaign_id == Campaign.id, Message.direction == "out")
        .exists()
    )
    query = select(Campaign, sent).where(Campaign.approved_at.is_not(None))
    if practice_ids is not None:
        query = query.where(
            Campaign.id.in_(
                select(CampaignMember.campaign_id).where(
                    CampaignMember.practice_id.in_(list(practice_ids))
                )
            )
        )
    rows = session.execute(query.order_by(Campaign.approved_at.desc(), Campaign.id.desc()))
    return [CampaignChoice(c.id, c.name, c.state, c.approved_at, bool(has)) for c, has in rows]


def list_campaigns_between(session: Session, start: datetime, end: datetime) -> list[int]:
    """Campaigns running at any time in [start, end]: approved by the end, not closed
    before the start."""
    query = select(Campaign.id).where(
        Campaign.approved_at.is_not(None),
        Campaign.approved_at <= end,
        or_(Campaign.closed_at.is_(None), Campaign.closed_at >= start),
    )
    return list(session.scalars(query.order_by(Campaign.id)))


def count_held_for_review(
    session: Session, campaign_ids: Sequence[int], practice_ids: list[int] | None
) -> int:
    """Members held for review: in the cohort, never invited while it lasts."""
    m = CampaignMember
    query = (
        select(func.count())
        .where(m.campaign_id.in_(list(campaign_ids)), m.state == "needs_review")
        .group_by(m.state)
    )
    if practice_ids is not None:
        query = query.where(m.practice_id.in_(practice_ids))
    return int(session.scalar(query) or 0)


def practice_names(session: Session, ids: Iterable[Any]) -> dict[Any, str]:
    """Each practice's published name: ODS code and name."""
    return dict(
        session.execute(
            select(Practice.id, Practice.ods_code + " " + Practice.name).where(
                Practice.id.in_(list(ids))
            )
        ).all()
    )


def _dimension_column(name: str) -> Any:
    m = CampaignMember
    column = {
        "age_band": m.age_band,
        "sex": m.sex,
        "ethnic_group": m.ethnic_group,
        "ethnic_category": m.ethnic_category,
        "imd_quintile": m.imd_quintile,
        "language": m.language,
        "interpreter_needed": m.interpreter_needed,
        "practice": m.practice_id,
        "variant": m.variant,
    }[name]
    return column


def _stage_columns(found: Any) -> list[Any]:
    m = CampaignMember
    invited = m.invited_at.is_not(None)

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.count(case((condition, literal(1))))

    attended = and_(invited, m.attended_at.is_not(None))
    return [
        func.count().label("eligible"),
        count_if(m.cohort_status == "not_textable").label("not_textable"),
        count_if(m.cohort_status != "not_textable").label("textable"),
        func.count(m.invited_at).label("invited"),
        count_if(and_(invited, m.delivered_at.is_not(None))).label("delivered"),
        count_if(and_(invited, m.replied_at.is_not(None))).label("replied"),
        count_if(and_(invited, m.booked_at.is_not(None))).label("booked"),
        count_if(attended).label("attended"),
        count_if(m.state == "opted_out").label("opted_out"),
        count_if(or_(m.state == "declined", m.declined_at.is_not(None))).label("declined"),
        count_if(
            and_(m.expired_at.is_not(None), m.replied_at.is_(None), m.booked_at.is_(None))
        ).label("expired"),
        count_if(and_(m.undeliverable_at.is_not(None), m.delivered_at.is_(None))).label(
            "undeliverable"
        ),
        count_if(attended).label("checks_completed"),
        *(func.count(found.c[stage]).label(stage) for stage in _OUTCOME_STAGES),
    ]


_OUTCOME_STAGES = ("risk_10", "risk_20", "new_hypertension", "new_diabetes", "referred", "detected")


def _outcomes_found() -> Any:
    """Which outcome stages each member's linked outcomes reach: check_outcome read once,
    grouped by member (1 per stage reached, else NULL), for the report to hash-join to its
    members rather than probe the outcomes once per member and stage. Not narrowed to the
    report's campaigns: outcomes (attended checks only) are few beside the members, and
    narrowing them costs a second scan of the members."""
    o = CheckOutcome
    risk = o.kind.in_(("qrisk", "qrisk_band"))
    risk_10 = and_(risk, o.value >= outcomes.RISK_10)
    hypertension = and_(o.kind == outcomes.DIAGNOSIS, o.cluster.in_(outcomes.HYPERTENSION))
    diabetes = and_(o.kind == outcomes.DIAGNOSIS, o.cluster.in_(outcomes.DIABETES_OR_NDH))
    conditions = {
        "risk_10": risk_10,
        "risk_20": and_(risk, o.value >= outcomes.RISK_20),
        "new_hypertension": hypertension,
        "new_diabetes": diabetes,
        "referred": and_(o.kind == "referred", o.value >= 1),
        "detected": or_(risk_10, hypertension, diabetes),
    }
    return (
        select(
            o.member_id.label("member_id"),
            *(func.max(case((conditions[s], literal(1)))).label(s) for s in _OUTCOME_STAGES),
        )
        .where(o.member_id.is_not(None))
        .group_by(o.member_id)
        .subquery("found")
    )


def _members_with_outcomes() -> tuple[Any, Any]:
    """campaign_member left-joined to its outcome stages (one row per member), for
    members whose check was attended only: a stage counts `found.c[stage]`."""
    m, found = CampaignMember, _outcomes_found()
    attended = and_(m.invited_at.is_not(None), m.attended_at.is_not(None))
    return found, m.__table__.outerjoin(found, and_(found.c.member_id == m.id, attended))


def aggregate(
    session: Session,
    campaign_ids: Sequence[int],
    dims: Sequence[str],
    practice_ids: list[int] | None,
) -> Cells:
    """One GROUP BY over campaign_member: stage counts per combination of `dims`."""
    columns = [_dimension_column(d).label(f"d{i}") for i, d in enumerate(dims)]
    found, source = _members_with_outcomes()
    query = (
        select(*columns, *_stage_columns(found))
        .select_from(source)
        .where(
            CampaignMember.campaign_id.in_(list(campaign_ids)),
            CampaignMember.state != "removed",
        )
    )
    if practice_ids is not None:
        query = query.where(CampaignMember.practice_id.in_(practice_ids))
    if columns:
        query = query.group_by(*columns)
    cells: Cells = {}
    for row in session.execute(query).mappings():
        key = tuple(row[f"d{i}"] for i in range(len(dims)))
        counts = {s: int(row[s] or 0) for s in STAGES}
        if not dims and counts["eligible"] == 0:
            continue
        cells[key] = counts
    return cells


def aggregate_by_variant(
    session: Session,
    campaign_ids: Sequence[int],
    dims: Sequence[str],
    practice_ids: list[int] | None,
) -> dict[str, Cells]:
    """Stage counts per (variant, value) for each of `dims`.

    On PostgreSQL one scan with GROUPING SETS ((variant, d1), (variant, d2), ...), where
    GROUPING(d) tells which set a row belongs to (a NULL value is a real "not known"
    group, so NULL cannot); elsewhere one GROUP BY per dimension.
    """
    if session.get_bind().dialect.name != "postgresql":
        return {d: aggregate(session, campaign_ids, ("variant", d), practice_ids) for d in dims}
    variant = _dimension_column("variant")
    columns = [_dimension_column(d) for d in dims]
    found, source = _members_with_outcomes()
    query = (
        select(
            variant.label("v"),
            *(c.label(f"d{i}") for i, c in enumerate(columns)),
            *(func.grouping(c).label(f"g{i}") for i, c in enumerate(columns)),
            *_stage_columns(found),
        )
        .select_from(source)
        .where(
            CampaignMember.campaign_id.in_(list(campaign_ids)),
            CampaignMember.state != "removed",
        )
    )
    if practice_ids is not None:
        query = query.where(CampaignMember.practice_id.in_(practice_ids))
    query = query.group_by(func.grouping_sets(*(tuple_(variant, c) for c in columns)))
    out: dict[str, Cells] = {d: {} for d in dims}
    for row in session.execute(query).mappings():
        i = next(i for i in range(len(dims)) if row[f"g{i}"] == 0)
        out[dims[i]][(row["v"], row[f"d{i}"])] = {s: int(row[s] or 0) for s in STAGES}
    return out


def campaign_names(session: Session, campaign_ids: Sequence[int]) -> list[str]:
    if not campaign_ids:
        raise ReportError("choose at least one campaign")
    found = dict(
        session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(campaign_ids)))
        ).all()
    )
    missing = [i for i in campaign_ids if i not in found]
    if missing:
        raise ReportError(f"no such campaign: {', '.join(map(str, missing))}")
    return [found[i] for i in campaign_ids]


def trial_arms(session: Session, campaign_ids: Sequence[int]) -> tuple[str, list[str]]:
    campaigns = list(session.scalars(select(Campaign).where(Campaign.id.in_(list(campaign_ids)))))
    if len(campaigns) != len(set(campaign_ids)):
        raise ReportError("no such campaign")
    controls = {c.control_variant for c in campaigns}
    if len(controls) != 1:
        raise ReportError("campaigns compared together must share a control variant")
    control = controls.pop()
    names = sorted({v for c in campaigns for v in c.variants} - {control})
    return control, [control, *names]
