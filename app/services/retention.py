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

from app.data import purge
from app.data.db import Database
from app.data.models import CampaignSnapshot
from app.services import audit
from app.services.campaigns import counts
from app.settings import Settings


def purge_personal_data(db: Database, *, now: datetime, settings: Settings = Settings()) -> int:
    """Purge every campaign closed more than RETENTION_DAYS ago; how many were purged."""
    days = settings.retention_days
    cutoff = now - timedelta(days=days)
    with db.transaction() as session:
        due = purge.due_campaigns(session, closed_by=cutoff)
    for campaign_id in due:
        _purge(db, campaign_id, now=now, days=days)
    return len(due)


def _purge(db: Database, campaign_id: int, *, now: datetime, days: int) -> None:
    with db.transaction() as session:
        if not purge.claim(session, campaign_id, now=now):
            return  # another scheduler got here first
        # stamp the funnel from offers, messages and bookings before they are blanked
        from app.data.report_stamps import refresh_progress

        refresh_progress(session, [campaign_id], include_purged=True)
        snapshot = counts(session, campaign_id)
        snapshot["by_variant"] = purge.members_by_variant(session, campaign_id)
        session.merge(CampaignSnapshot(campaign_id=campaign_id, taken_at=now, counts=snapshot))
        blanked = purge.blank_texts(session, campaign_id)
        audit.record(
            session,
            now=now,
            actor="system",
            action="campaign.purge",
            target=f"campaign:{campaign_id}",
            detail={"retention_days": days, "messages_blanked": blanked},
        )
