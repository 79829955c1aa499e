"""Changing a draft campaign before it is approved: edit its settings or delete it.

Only drafts: an approved campaign has a cohort snapshot, trial arms and texts sent under
its settings, so changing or deleting it would rewrite what people were sent. Both are
audited with what changed.
"""

from __future__ import annotations

from datetime import datetime

from app.clock import LONDON
from app.data import campaigns as campaign_data
from app.data.db import Database
from app.services import audit
from app.services.campaigns import CampaignError, CampaignSpec, check, fill, practices_for, reasons


def _not_draft(state: str | None, campaign_id: int) -> CampaignError:
    if state is None:
        return CampaignError(f"There is no campaign {campaign_id}")
    return CampaignError(f"This campaign is {state}: only a draft can be changed or deleted")


def update(
    db: Database, campaign_id: int, spec: CampaignSpec, *, now: datetime, actor: str
) -> None:
    """Replace a draft's settings with `spec` (checked exactly as creating it is)."""
    today = now.astimezone(LONDON).date()
    window = check(spec, today=today)
    with db.transaction() as session:
        campaign = campaign_data.draft_for_update(session, campaign_id)
        if campaign is None:
            raise _not_draft(campaign_data.state_of(session, campaign_id), campaign_id)
        practices = practices_for(session, spec)
        fill(campaign, spec, window, today)
        campaign.practices = practices
        audit.record(
            session,
            now=now,
            actor=actor,
            action="campaign.edit",
            target=f"campaign:{campaign_id}",
            detail={
                "name": campaign.name,
                "practices": sorted(p.ods_code for p in practices),
                "variants": campaign.variants,
                **reasons(spec),
            },
        )


def delete(db: Database, campaign_id: int, *, now: datetime, actor: str) -> str:
    """Delete a draft and return its name."""
    with db.transaction() as session:
        campaign = campaign_data.draft_for_update(session, campaign_id)
        if campaign is None:
            raise _not_draft(campaign_data.state_of(session, campaign_id), campaign_id)
        name = campaign.name
        session.expunge(campaign)
        campaign_data.delete_draft(session, campaign_id)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="campaign.delete",
            target=f"campaign:{campaign_id}",
            detail={"name": name},
        )
        return name
