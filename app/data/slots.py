"""The practice diary's rows: slots in a time range, new slots, taking a free slot out
of use, the practice named by an ODS code, and the live booking on a slot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.orm import Session

from app.data.models import (
    Booking,
    Campaign,
    CampaignPractice,
    Offer,
    Patient,
    Practice,
    Slot,
)


def live_slots_between(
    session: Session, practice_id: int, lo: datetime, hi: datetime
) -> list[tuple[str, datetime, int]]:
    """(location, starts_at, duration) of the practice's uncancelled slots starting in [lo, hi)."""
    rows = session.execute(
        select(Slot.location, Slot.starts_at, Slot.duration_minutes).where(
            Slot.practice_id == practice_id,
            Slot.state != "cancelled",
            Slot.starts_at >= lo,
            Slot.starts_at < hi,
        )
    ).all()
    return [(location, starts_at, duration) for location, starts_at, duration in rows]


def insert_slots(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert(Slot), list(rows))


def practice_with_ods(session: Session, ods_code: str) -> Practice | None:
    return session.scalar(select(Practice).where(Practice.ods_code == ods_code.upper()))


def retire_free_slot(session: Session, slot_id: int) -> bool:
    """Cancel the slot only if it is free now; False when it changed under us."""
    changed = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state == "free")
        .values(state="cancelled", held_by_offer_id=None)
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed == 1)


def live_booking(session: Session, slot_id: int) -> Booking | None:
    return session.scalar(
        select(Booking).where(Booking.slot_id == slot_id, Booking.state == "booked")
    )


def slot_count(session: Session, practice_id: int) -> int:
    """How many slots the practice's diary has, in any state."""
    count = session.scalar(
        select(func.count()).select_from(Slot).where(Slot.practice_id == practice_id)
    )
    return int(count or 0)


def practice_slots_between(
    session: Session, practice_id: int, start: datetime, end: datetime
) -> list[Slot]:
    """A practice's slots starting in [start, end), by time and room."""
    return list(
        session.scalars(
            select(Slot)
            .where(Slot.practice_id == practice_id, Slot.starts_at >= start, Slot.starts_at < end)
            .order_by(Slot.starts_at, Slot.location)
        )
    )


def owner_and_state(session: Session, slot_id: int) -> Row[int, str, datetime] | None:
    """The slot's practice, state and start."""
    return session.execute(
        select(Slot.practice_id, Slot.state, Slot.starts_at).where(Slot.id == slot_id)
    ).one_or_none()


def free_counts(
    session: Session, practice_ids: Sequence[int], not_before: datetime, until: datetime
) -> dict[int, tuple[int, int]]:
    """Per practice: free slots starting from `not_before`, and those of them before `until`."""
    rows = session.execute(
        select(
            Slot.practice_id,
            func.count(),
            func.count().filter(Slot.starts_at < until),
        )
        .where(
            Slot.practice_id.in_(list(practice_ids)),
            Slot.state == "free",
            Slot.starts_at >= not_before,
        )
        .group_by(Slot.practice_id)
    ).all()
    found = {pid: (int(total), int(soon)) for pid, total, soon in rows}
    return {pid: found.get(pid, (0, 0)) for pid in practice_ids}


class SlotHolder(NamedTuple):
    """Who has a slot: `booked` (a live booking) or `held` (an open offer, until
    `until`); the patient's practice, so a page shows names only to that practice."""

    slot_id: int
    how: str
    given_name: str | None
    family_name: str | None
    patient_practice_id: int
    until: datetime | None


def holders(session: Session, slot_ids: Sequence[int]) -> list[SlotHolder]:
    """Who booked or holds each of these slots (slots nobody has are absent)."""
    if not slot_ids:
        return []
    booked = session.execute(
        select(Booking.slot_id, Patient.given_name, Patient.family_name, Patient.practice_id)
        .join(Patient, Patient.id == Booking.patient_id)
        .where(Booking.slot_id.in_(slot_ids), Booking.state != "cancelled")
    ).all()
    held = session.execute(
        select(
            Slot.id, Patient.given_name, Patient.family_name, Patient.practice_id, Offer.expires_at
        )
        .join(Offer, Offer.id == Slot.held_by_offer_id)
        .join(Patient, Patient.id == Offer.patient_id)
        .where(Slot.id.in_(slot_ids), Slot.state == "held", Offer.state == "open")
    ).all()
    return [SlotHolder(sid, "booked", g, f, p, None) for sid, g, f, p in booked] + [
        SlotHolder(sid, "held", g, f, p, until) for sid, g, f, p, until in held
    ]


class OfferRules(NamedTuple):
    campaign: str
    hold_hours: int
    min_notice_hours: int


def offering_campaigns(session: Session, practice_id: int) -> list[OfferRules]:
    """The active campaigns offering this practice's slots, with the rules that decide
    how soon a slot may be offered."""
    rows = session.execute(
        select(Campaign.name, Campaign.hold_hours, Campaign.min_notice_hours)
        .join(CampaignPractice, CampaignPractice.campaign_id == Campaign.id)
        .where(CampaignPractice.practice_id == practice_id, Campaign.state == "active")
        .order_by(Campaign.name)
    ).all()
    return [OfferRules(*row) for row in rows]
