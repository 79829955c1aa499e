"""Offers made one at a time, on demand, and the end of offers at expiry.

An on-demand offer (a reply of MORE or CHANGE, a staff re-offer, a cancelled slot) is a
wave of one: the same candidate rule (`app.data.offers.candidates`), slot choice,
writer and invitation as a wave (`app.services.waves`). At expiry the holds are
released and the member goes back to the pool, or is exhausted at the limit (and then
told how to book another way).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.data import campaigns as campaign_data
from app.data import gpconnect as gp_data
from app.data import messages
from app.data import offers as offer_data
from app.data.db import Database
from app.data.models import Offer, Slot
from app.domain.offers import earliest_start
from app.services import texts
from app.services.invitations import (
    InvitationFacts,
    expiry_for,
    invitation_context,
    render_invitation,
)
from app.services.waves import HoldShortfall, plan_wave, plan_waves, write_offers
from app.settings import Settings

# free slots one on-demand offer locks and chooses from: a few clinic days, enough for
# variety, and few enough that a wave running meanwhile (which skips locked slots)
# loses little
ON_DEMAND_SLOT_LIMIT = 60
# member states from which a fresh on-demand offer may be made
REOFFERABLE = ("waiting", "offered", "booked", "exhausted")

__all__ = [
    "InvitationFacts",
    "create_offer",
    "expire_offers",
    "expiry_for",
    "invitation_context",
    "open_offer_slots",
    "plan_wave",
    "plan_waves",
    "render_invitation",
]


def create_offer(
    session: Session,
    member_id: int,
    *,
    now: datetime,
    settings: Settings = Settings(),
    respect_limit: bool = True,
) -> Offer | None:
    """Make one offer for a campaign member in the caller's transaction, or None.

    A wave of one. None when the campaign is not active, the member cannot be texted or
    has left the practice list, is at the invitation limit (unless `respect_limit` is
    False: staff making good a slot they cancelled), already has an open offer, their
    number has one, is booked and still coming, or three suitable free slots are not
    there. Nothing is changed then.
    """
    campaign = campaign_data.campaign_of_member(session, member_id)
    if campaign is None:
        return None
    found = offer_data.candidates(
        session, campaign, states=REOFFERABLE, member_id=member_id, respect_limit=respect_limit
    )
    if not found:
        return None
    candidate = found[0]
    expires_at = expiry_for(now, campaign.hold_hours)
    not_before = earliest_start(expires_at, campaign.min_notice_hours)
    practices = campaign_data.practices(session, [candidate.practice_id])
    for _attempt in range(3):
        pool = offer_data.free_slot_pools(
            session, [candidate.practice_id], not_before, limit=ON_DEMAND_SLOT_LIMIT
        ).get(candidate.practice_id)
        chosen = pool.take() if pool is not None else None
        if chosen is None:
            return None
        try:
            with session.begin_nested():
                made = write_offers(
                    session,
                    campaign,
                    [(candidate, chosen)],
                    practices,
                    now=now,
                    expires_at=expires_at,
                    from_number=settings.sms_from_number,
                    demo_approved=settings.translations_demo_approved,
                    member_states=REOFFERABLE,
                )
        except HoldShortfall:
            continue  # a slot was taken between reading and holding: choose again
        if not made:
            return None  # the number got an open offer meanwhile
        session.expire_all()
        return session.get(Offer, made[0])
    return None


def expire_offers(db: Database, *, now: datetime, settings: Settings = Settings()) -> int:
    """Close every open offer past its expiry; release its holds; return how many.

    The member goes back to waiting for the next wave, or is exhausted at the campaign's
    invitation limit; an exhausted member is told once how to book another way.
    Query-driven and idempotent: a second run finds nothing open and past due.
    """
    with db.transaction() as session:
        closed = offer_data.close_open_offers(
            session,
            gp_data.expirable(now),
            state="expired",
            now=now,
        )
        if not closed:
            return 0
        exhausted_members = offer_data.return_members_of(session, closed, now=now)
        if exhausted_members:
            _tell_exhausted(session, exhausted_members, closed, now=now, settings=settings)
        return len(closed)


def _tell_exhausted(
    session: Session,
    member_ids: list[int],
    offer_ids: list[int],
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Queue the `expired` message for members who will not be invited again."""
    wanted = set(member_ids)
    for row in offer_data.offers_to_tell(session, offer_ids):
        if row.member_id not in wanted:
            continue
        messages.queue(
            session,
            messages.OutboundText(
                to=row.mobile,
                body=texts.render_for(
                    session,
                    row.patient_id,
                    "expired",
                    settings=settings,
                    practice_name=row.practice_name,
                    practice_phone=row.practice_phone or "your GP practice",
                ),
                kind="expired",
                dedupe_key=f"expired:offer:{row.offer_id}",
                campaign_id=row.campaign_id,
                patient_id=row.patient_id,
                offer_id=row.offer_id,
            ),
            now=now,
        )


def open_offer_slots(session: Session, offer_id: int) -> list[Slot]:
    """The offer's slots in the order the invitation listed them (reply 1, 2, 3)."""
    return offer_data.offer_slots(session, offer_id)
