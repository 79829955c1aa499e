"""A patient's history as staff read it: the patient by NHS number, their offers and
bookings (their messages come from `app.data.messages.thread`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.data.models import Booking, Campaign, Offer, Patient, Slot


def patients_by_nhs_number(
    session: Session, nhs_number: str, practice_ids: Iterable[int] | None
) -> list[Patient]:
    """Patients with this NHS number in `practice_ids` (None: any practice)."""
    query = (
        select(Patient)
        .where(Patient.nhs_number == nhs_number)
        .options(selectinload(Patient.practice))
    )
    if practice_ids is not None:
        query = query.where(Patient.practice_id.in_(list(practice_ids)))
    return list(session.scalars(query))


def offers_of(session: Session, patient_id: int) -> list[tuple[Offer, str]]:
    """The patient's offers with their campaign's name."""
    rows = session.execute(
        select(Offer, Campaign.name)
        .join(Campaign, Campaign.id == Offer.campaign_id)
        .where(Offer.patient_id == patient_id)
    )
    return [(offer, name) for offer, name in rows]


def bookings_of(session: Session, patient_id: int) -> list[tuple[Booking, datetime, str]]:
    """The patient's bookings with their slot's start and place."""
    rows = session.execute(
        select(Booking, Slot.starts_at, Slot.location)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.patient_id == patient_id)
    )
    return [(booking, starts_at, location) for booking, starts_at, location in rows]
