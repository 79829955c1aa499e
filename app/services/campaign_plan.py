"""What a campaign will do next, in words an admin can act on: before approval, how many
people would be texted, when the first texts go and how many invitations the free slots
support; once active, why no invitations are going out when none are.

The arithmetic is the wave planner's (`waves.plan_wave`): an invitation holds three free
slots at the person's practice that start after its hold expires plus the minimum
notice, and a wave goes only while the send window is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.clock import LONDON
from app.data import campaigns as campaign_data
from app.data import slots as slot_data
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.domain.offers import OFFER_SIZE, earliest_start
from app.domain.send_window import SendWindow, is_open, next_opening
from app.services import cohort
from app.services.invitations import expiry_for

HORIZON_DAYS = 14  # the fortnight a practice usually has slots loaded for


@dataclass(frozen=True)
class PracticeCapacity:
    practice: Practice
    textable: int  # eligible and textable people at this practice
    free_slots: int  # free slots an invitation sent at the first send could use
    free_in_horizon: int  # of which start within HORIZON_DAYS

    @property
    def first_wave(self) -> int:
        return min(self.textable, self.free_slots // OFFER_SIZE)


@dataclass(frozen=True)
class ApprovalPlan:
    eligible: int
    not_textable: int
    needs_review: int
    first_send: datetime | None  # None: the window never opens
    earliest_slot: datetime  # slots before this are too soon for a first invitation
    practices: list[PracticeCapacity]

    @property
    def free_in_horizon(self) -> int:
        return sum(p.free_in_horizon for p in self.practices)

    @property
    def first_wave(self) -> int:
        return sum(p.first_wave for p in self.practices)

    @property
    def horizon_days(self) -> int:
        return HORIZON_DAYS


def _window(campaign: Campaign) -> SendWindow:
    return SendWindow.stored(
        campaign.send_window_start, campaign.send_window_end, campaign.send_days
    )


def _first_send(campaign: Campaign, now: datetime) -> datetime | None:
    try:
        return next_opening(_window(campaign), now)
    except ValueError:
        return None


def _capacity(
    session: Session, campaign: Campaign, at: datetime, textable: dict[int, int]
) -> tuple[datetime, list[PracticeCapacity]]:
    not_before = earliest_start(expiry_for(at, campaign.hold_hours), campaign.min_notice_hours)
    practices = campaign_data.practices_by_name(session, campaign.id)
    counts = slot_data.free_counts(
        session, [p.id for p in practices], not_before, at + timedelta(days=HORIZON_DAYS)
    )
    return not_before, [
        PracticeCapacity(p, textable.get(p.id, 0), *counts[p.id]) for p in practices
    ]


def approval_plan(db: Database, campaign_id: int, *, now: datetime) -> ApprovalPlan | None:
    """What approving the draft now would do; None if there is no such campaign."""
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        practices = campaign_data.practices_by_name(session, campaign_id)
        whole = cohort.preview(session, [p.id for p in practices], campaign.reference_date)
        textable = {
            p.id: cohort.preview(session, [p.id], campaign.reference_date).eligible
            for p in practices
        }
        first_send = _first_send(campaign, now)
        earliest, capacity = _capacity(session, campaign, first_send or now, textable)
        return ApprovalPlan(
            eligible=whole.eligible,
            not_textable=whole.not_textable,
            needs_review=whole.needs_review,
            first_send=first_send,
            earliest_slot=earliest,
            practices=capacity,
        )


def why_not_inviting(
    db: Database, campaign_id: int, *, now: datetime, members: int, waiting: int
) -> list[str]:
    """Why a running campaign is sending no new invitations now; empty when it can.

    `members` and `waiting` (for an invitation) are the campaign's progress counts.
    """
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.state not in {"active", "paused"}:
            return []
        reasons: list[str] = []
        if campaign.state == "paused":
            reasons.append("It is paused: nobody new is invited until you resume it.")
        if members == 0:
            reasons.append(
                "The cohort is empty: nobody at its practices was eligible and textable."
            )
            return reasons
        if waiting == 0:
            reasons.append(
                "Everyone in the cohort has been invited: nobody is waiting for an invitation."
            )
            return reasons
        window = _window(campaign)
        if not is_open(window, now):
            opens = _first_send(campaign, now)
            when = f"on {opens.astimezone(LONDON):%A %-d %B at %H:%M}" if opens else "never"
            reasons.append(
                f"It is outside the send window ({window.describe()}): the next wave goes {when}."
            )
        not_before, capacity = _capacity(session, campaign, now, {})
        if all(p.free_slots < OFFER_SIZE for p in capacity):
            reasons.append(
                "There are no free slots to offer: an invitation needs 3 free slots starting"
                f" after {not_before.astimezone(LONDON):%A %-d %B, %H:%M} (when its hold ends"
                " plus the minimum notice). Add slots for "
                + ", ".join(p.practice.name for p in capacity)
                + "."
            )
        return reasons
