"""Bookings and their outcomes as the practice sees them: a day's list, the row an
outcome is recorded on, and the invitations, declines and appointments an export covers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from app.data.models import Booking, Offer, Patient, Slot


def _bookings_between(practice_id: int, start: datetime, end: datetime, *columns: Any) -> Select:
    """`columns` of the practice's bookings (not cancelled) in [start, end), in time order."""
    return (
        select(*columns)
        .select_from(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Patient, Patient.id == Booking.patient_id)
        .where(
            Slot.practice_id == practice_id,
            Slot.starts_at >= start,
            Slot.starts_at < end,
            Booking.state != "cancelled",
        )
        .order_by(Slot.starts_at, Booking.id)
    )


def day_rows(session: Session, practice_id: int, start: datetime, end: datetime) -> list[Any]:
    """(id, starts_at, duration, location, given, family, NHS number, source, state, GP
    Connect appointment id, attention)."""
    return list(
        session.execute(
            _bookings_between(
                practice_id,
                start,
                end,
                Booking.id,
                Slot.starts_at,
                Slot.duration_minutes,
                Slot.location,
                Patient.given_name,
                Patient.family_name,
                Patient.nhs_number,
                Booking.source,
                Booking.state,
                Booking.gpconnect_appointment_id,
                Booking.attention,
            )
        ).all()
    )


def needing_attention(session: Session, practice_id: int, limit: int = 50) -> list[Any]:
    """(id, starts_at, given, family, NHS number, appointment id, attention, since) of the
    practice's bookings staff must sort out by hand, newest first."""
    return list(
        session.execute(
            select(
                Booking.id,
                Slot.starts_at,
                Patient.given_name,
                Patient.family_name,
                Patient.nhs_number,
                Booking.gpconnect_appointment_id,
                Booking.attention,
                Booking.attention_at,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Patient, Patient.id == Booking.patient_id)
            .where(Slot.practice_id == practice_id, Booking.attention.is_not(None))
            .order_by(Booking.attention_at.desc(), Booking.id.desc())
            .limit(limit)
        ).all()
    )


def booking_practice(session: Session, booking_id: int) -> int | None:
    """The practice whose diary holds the booking (for scoping), or None if unknown."""
    return session.scalar(
        select(Slot.practice_id)
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Booking.id == booking_id)
    )


def state_and_start(session: Session, booking_id: int) -> tuple[str, datetime] | None:
    row = session.execute(
        select(Booking.state, Slot.starts_at)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.id == booking_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def set_outcome(
    session: Session, booking_id: int, *, previous: str, outcome: str, now: datetime, actor: str
) -> bool:
    """Record the outcome only if the booking is still in `previous`; False if it moved."""
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.state == previous)
        .values(state=outcome, outcome_recorded_at=now, outcome_recorded_by=actor)
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed == 1)


def invitations_between(
    session: Session, practice_id: int, start: datetime, end: datetime
) -> list[Any]:
    """(NHS number, offered at) for the practice's offers made in [start, end)."""
    return list(
        session.execute(
            select(Patient.nhs_number, Offer.created_at)
            .join(Patient, Patient.id == Offer.patient_id)
            .where(
                Patient.practice_id == practice_id,
                Offer.created_at >= start,
                Offer.created_at < end,
            )
            .order_by(Offer.created_at, Offer.id)
        ).all()
    )


def declines_between(
    session: Session, practice_id: int, start: datetime, end: datetime
) -> list[Any]:
    """(NHS number, declined at) for the practice's offers declined in [start, end)."""
    return list(
        session.execute(
            select(Patient.nhs_number, Offer.closed_at)
            .join(Patient, Patient.id == Offer.patient_id)
            .where(
                Patient.practice_id == practice_id,
                Offer.state == "declined",
                Offer.closed_at >= start,
                Offer.closed_at < end,
            )
            .order_by(Offer.closed_at, Offer.id)
        ).all()
    )


def appointments_between(
    session: Session, practice_id: int, start: datetime, end: datetime
) -> list[Any]:
    """(NHS number, starts at, state, source) for the practice's bookings in [start, end)."""
    columns = (Patient.nhs_number, Slot.starts_at, Booking.state, Booking.source)
    return list(session.execute(_bookings_between(practice_id, start, end, *columns)).all())


def clear_attention(session: Session, booking_id: int) -> bool:
    """Staff sorted it out by hand; False when there was nothing to clear."""
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.attention.is_not(None))
        .values(attention=None, attention_at=None)
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed == 1)
