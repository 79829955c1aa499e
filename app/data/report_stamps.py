"""Funnel stamps on campaign_member, refreshed set-based from offers, messages and bookings.

The stamps (`invited_at` ... `attended_at`) are what the funnel counts; they are refreshed
while the campaign's personal data exists and stand alone after the retention purge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased

from app.data.models import Booking, Campaign, CampaignMember, Message, Offer

SENT_STATUSES = ("sent", "delivered", "undelivered", "failed", "uncertain")
FAILED_STATUSES = ("undelivered", "failed")


def live_campaign_ids(session: Session) -> list[int]:
    """Approved campaigns whose personal data is not yet purged: their stamps can move."""
    return list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.approved_at.is_not(None), Campaign.purged_at.is_(None)
            )
        )
    )


def ensure_fresh(
    session: Session, campaign_ids: Sequence[int], *, now: datetime, max_age: timedelta
) -> datetime | None:
    """Refresh the stamps of the campaigns whose last refresh is older than `max_age`;
    return when the oldest of them was last brought up to date (None if never).

    The refresh is claimed with a conditional UPDATE of the campaign rows, so two reports
    arriving together do not both refresh (on PostgreSQL the second waits on the row lock,
    then finds the stamps fresh); they never race each other's UPDATEs of the members.
    """
    claimed = list(
        session.scalars(
            update(Campaign)
            .where(
                Campaign.id.in_(sorted(set(campaign_ids))),
                Campaign.purged_at.is_(None),
                or_(
                    Campaign.progress_refreshed_at.is_(None),
                    Campaign.progress_refreshed_at <= now - max_age,
                ),
            )
            .values(progress_refreshed_at=now)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        refresh_progress(session, claimed)
    times = session.execute(
        select(func.coalesce(Campaign.progress_refreshed_at, Campaign.purged_at)).where(
            Campaign.id.in_(list(campaign_ids))
        )
    ).scalars()
    known = [t for t in times if t is not None]
    return min(known) if known and len(known) == len(set(campaign_ids)) else None


def refresh_progress(
    session: Session, campaign_ids: Sequence[int], *, include_purged: bool = False
) -> None:
    """Bring each member's funnel stamps up to date from offers, messages and bookings.

    Three set-based UPDATE ... FROM statements, each writing only the members whose stamps
    changed. Campaigns already purged are left alone: their numbers are blanked and the
    stamps are all that is left. The retention purge calls this (include_purged=True, in
    the transaction that claims the campaign) before it blanks anything.
    """
    query = select(Campaign.id).where(Campaign.id.in_(list(campaign_ids)))
    if not include_purged:
        query = query.where(Campaign.purged_at.is_(None))
    live = list(session.scalars(query))
    if not live:
        return
    member = CampaignMember.__table__
    assert isinstance(member, Table)
    for source in (_outbound_stamps(live), _reply_stamps(live), _booking_stamps(live)):
        stamp_names = [c.name for c in source.columns if c.name != "member_id"]
        changed = or_(*(member.c[n].is_distinct_from(source.c[n]) for n in stamp_names))
        session.execute(
            update(member)
            .where(member.c.id == source.c.member_id, changed)
            .values({n: source.c[n] for n in stamp_names}),
            execution_options={"synchronize_session": False},
        )


def _first(condition: ColumnElement[bool], value: Any) -> Any:
    return func.min(case((condition, value)))


def _outbound_stamps(campaign_ids: list[int]) -> Any:
    o, m = Offer, Message
    invitation = m.kind == "invitation"
    status_time = func.coalesce(m.status_updated_at, m.sent_at, m.created_at)
    return (
        select(
            o.member_id.label("member_id"),
            _first(
                and_(invitation, m.status.in_(SENT_STATUSES)),
                func.coalesce(m.sent_at, m.created_at),
            ).label("invited_at"),
            _first(and_(invitation, m.status == "delivered"), status_time).label("delivered_at"),
            _first(and_(invitation, m.status.in_(FAILED_STATUSES)), status_time).label(
                "undeliverable_at"
            ),
            _first(o.state == "expired", func.coalesce(o.closed_at, o.expires_at)).label(
                "expired_at"
            ),
        )
        .select_from(o)
        .outerjoin(m, and_(m.offer_id == o.id, m.direction == "out"))
        .where(o.campaign_id.in_(campaign_ids))
        .group_by(o.member_id)
        .subquery("outbound")
    )


def _reply_stamps(campaign_ids: list[int]) -> Any:
    """First inbound SMS per member while one of its offers was open: the webhook links a
    reply to the number's open (or latest) offer; an unlinked reply from the offer's number
    in its open window counts too. A reply after the offer closed is not a response to it.
    """
    o, m = Offer, aliased(Message)
    window = and_(
        m.created_at >= o.created_at, m.created_at <= func.coalesce(o.closed_at, o.expires_at)
    )
    linked = (
        select(o.member_id.label("member_id"), m.created_at.label("at"))
        .join(m, and_(m.offer_id == o.id, m.direction == "in", window))
        .where(o.campaign_id.in_(campaign_ids))
    )
    by_number = (
        select(o.member_id.label("member_id"), m.created_at.label("at"))
        .join(
            m,
            and_(m.from_number == o.mobile, m.direction == "in", m.offer_id.is_(None), window),
        )
        .where(o.campaign_id.in_(campaign_ids))
    )
    replies = union_all(linked, by_number).subquery("replies")
    return (
        select(replies.c.member_id, func.min(replies.c.at).label("replied_at"))
        .group_by(replies.c.member_id)
        .subquery("reply_stamps")
    )


def _booking_stamps(campaign_ids: list[int]) -> Any:
    b, cm = Booking, aliased(CampaignMember)
    return (
        select(
            cm.id.label("member_id"),
            _first(b.state != "cancelled", b.booked_at).label("booked_at"),
            _first(b.state == "attended", func.coalesce(b.outcome_recorded_at, b.booked_at)).label(
                "attended_at"
            ),
        )
        .select_from(b)
        .join(cm, and_(cm.campaign_id == b.campaign_id, cm.patient_id == b.patient_id))
        .where(b.campaign_id.in_(campaign_ids))
        .group_by(cm.id)
        .subquery("booking_stamps")
    )
