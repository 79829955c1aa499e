"""Retention: purge a closed campaign's personal data once its retention period is over.

Rule (ICO storage limitation): personal data is kept no longer than
needed, by default 90 days (`RETENTION_DAYS`) after a campaign closes. Before the purge
the campaign's aggregate counts are saved in `campaign_snapshot`; afterwards message
bodies and numbers and offers' mobiles are blanked, while each campaign member's
demographic snapshot (age band, sex, ethnic group, IMD quintile, state, variant and the
funnel stamps) stays, so the trial and equity reports still work.
Idempotent: a purged campaign has `purged_at` and is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from app.data.db import Database
from app.data.models import Campaign, CampaignMember, CampaignSnapshot, Message, Offer
from app.services import audit
from app.services.campaigns import counts
from app.settings import Settings

PURGED = ""  # what a blanked text column holds


def purge_personal_data(db: Database, *, now: datetime, settings: Settings = Settings()) -> int:
    """Purge every campaign closed more than RETENTION_DAYS ago; how many were purged."""
    days = settings.retention_days
    cutoff = now - timedelta(days=days)
    with db.transaction() as session:
        due = list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.state == "closed",
                    Campaign.closed_at <= cutoff,
                    Campaign.purged_at.is_(None),
                )
            )
        )
    for campaign_id in due:
        _purge(db, campaign_id, now=now, days=days)
    return len(due)


def _purge(db: Database, campaign_id: int, *, now: datetime, days: int) -> None:
    with db.transaction() as session:
        claimed = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.purged_at.is_(None))
            .values(purged_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            return  # another scheduler got here first
        # stamp the funnel from offers, messages and bookings before they are blanked
        from app.data.report_stamps import refresh_progress

        refresh_progress(session, [campaign_id], include_purged=True)
        snapshot = counts(session, campaign_id)
        by_variant = session.execute(
            select(CampaignMember.variant, CampaignMember.state, func.count())
            .where(CampaignMember.campaign_id == campaign_id)
            .group_by(CampaignMember.variant, CampaignMember.state)
        ).all()
        snapshot["by_variant"] = [{"variant": v, "state": s, "count": n} for v, s, n in by_variant]
        session.merge(CampaignSnapshot(campaign_id=campaign_id, taken_at=now, counts=snapshot))
        offer_ids = select(Offer.id).where(Offer.campaign_id == campaign_id)
        blanked = session.execute(
            update(Message)
            .where(or_(Message.campaign_id == campaign_id, Message.offer_id.in_(offer_ids)))
            .values(body=PURGED, to_number=PURGED, from_number=None)
        ).rowcount  # type: ignore[attr-defined]
        session.execute(
            update(Offer)
            .where(Offer.campaign_id == campaign_id, Offer.state != "open")
            .values(mobile=PURGED)
        )
        audit.record(
            session,
            now=now,
            actor="system",
            action="campaign.purge",
            target=f"campaign:{campaign_id}",
            detail={"retention_days": days, "messages_blanked": blanked},
        )
