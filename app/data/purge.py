"""The retention purge's statements: which closed campaigns are due, claiming one, and
blanking the personal data of its messages and offers (counts and stamps stay)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.data.models import Campaign, CampaignMember, Message, Offer

PURGED = ""  # what a blanked text column holds


def due_campaigns(session: Session, *, closed_by: datetime) -> list[int]:
    """Campaigns closed at or before `closed_by` and not purged yet."""
    return list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.state == "closed",
                Campaign.closed_at <= closed_by,
                Campaign.purged_at.is_(None),
            )
        )
    )


def claim(session: Session, campaign_id: int, *, now: datetime) -> bool:
    """Stamp `purged_at` unless set; False when another process got there first."""
    done = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.purged_at.is_(None))
        .values(purged_at=now)
    )
    return bool(cast(Any, done).rowcount == 1)


def members_by_variant(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    """How many members each variant has in each state."""
    rows = session.execute(
        select(CampaignMember.variant, CampaignMember.state, func.count())
        .where(CampaignMember.campaign_id == campaign_id)
        .group_by(CampaignMember.variant, CampaignMember.state)
    ).all()
    return [{"variant": v, "state": s, "count": n} for v, s, n in rows]


def blank_texts(session: Session, campaign_id: int) -> int:
    """Blank the bodies and numbers of the campaign's messages and its closed offers'
    mobiles; how many messages were blanked."""
    offer_ids = select(Offer.id).where(Offer.campaign_id == campaign_id)
    blanked = session.execute(
        update(Message)
        .where(or_(Message.campaign_id == campaign_id, Message.offer_id.in_(offer_ids)))
        .values(body=PURGED, to_number=PURGED, from_number=None)
    )
    session.execute(
        update(Offer)
        .where(Offer.campaign_id == campaign_id, Offer.state != "open")
        .values(mobile=PURGED)
    )
    return int(cast(Any, blanked).rowcount)
