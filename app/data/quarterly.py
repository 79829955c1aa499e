"""The quarterly return's counts: distinct people per practice from the funnel stamps,
and the same stamps summed per campaign member (the reconciliation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from app.data.models import CampaignMember, Practice
from app.data.report_queries import list_campaigns_between


def campaigns_in(session: Session, start: datetime, end: datetime) -> list[int]:
    """Campaigns running at any time in [start, end)."""
    return list_campaigns_between(session, start, end)


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column.is_not(None), column >= start, column < end)


def practice_counts(
    session: Session,
    campaign_ids: list[int],
    start: datetime,
    end: datetime,
    practice_ids: list[int] | None,
) -> list[Any]:
    """(practice "ODS name", local authority, eligible, offered, received) per practice:
    distinct people, each counted once however many campaigns they were in."""
    m = CampaignMember
    offered = _in(m.invited_at, start, end)
    received = and_(m.invited_at.is_not(None), _in(m.attended_at, start, end))
    query = (
        select(
            Practice.ods_code + " " + Practice.name,
            Practice.local_authority,
            func.count(distinct(m.patient_id)),
            func.count(distinct(case((offered, m.patient_id)))),
            func.count(distinct(case((received, m.patient_id)))),
        )
        .join(Practice, Practice.id == m.practice_id)
        .where(m.campaign_id.in_(campaign_ids), m.state != "removed")
        .group_by(Practice.id, Practice.ods_code, Practice.name, Practice.local_authority)
    )
    if practice_ids is not None:
        query = query.where(m.practice_id.in_(practice_ids))
    return list(session.execute(query).all())


def funnel_sums(
    session: Session,
    campaign_ids: list[int],
    start: datetime,
    end: datetime,
    practice_ids: list[int] | None,
) -> tuple[int, int]:
    """(members invited, members attended) in the quarter, summed over the campaigns'
    funnels: one per member, so a person in two campaigns counts twice."""
    m = CampaignMember
    offered = _in(m.invited_at, start, end)
    received = and_(m.invited_at.is_not(None), _in(m.attended_at, start, end))
    query = select(
        func.count(case((offered, literal(1)))), func.count(case((received, literal(1))))
    ).where(m.campaign_id.in_(campaign_ids), m.state != "removed", m.practice_id.is_not(None))
    if practice_ids is not None:
        query = query.where(m.practice_id.in_(practice_ids))
    row = session.execute(query).one()
    return int(row[0] or 0), int(row[1] or 0)


def repeats(
    session: Session,
    campaign_ids: list[int],
    start: datetime,
    end: datetime,
    practice_ids: list[int] | None,
) -> tuple[int, int]:
    """(offered, received) members beyond each person's first at their practice: what
    the funnel sums count more than once."""
    m = CampaignMember
    out: list[int] = []
    for condition in (
        _in(m.invited_at, start, end),
        and_(m.invited_at.is_not(None), _in(m.attended_at, start, end)),
    ):
        per_person = (
            select((func.count() - 1).label("extra"))
            .where(m.campaign_id.in_(campaign_ids), m.state != "removed", condition)
            .where(m.practice_id.is_not(None))
            .group_by(m.practice_id, m.patient_id)
            .having(func.count() > 1)
        )
        if practice_ids is not None:
            per_person = per_person.where(m.practice_id.in_(practice_ids))
        sub = per_person.subquery()
        out.append(int(session.scalar(select(func.coalesce(func.sum(sub.c.extra), 0))) or 0))
    return out[0], out[1]
