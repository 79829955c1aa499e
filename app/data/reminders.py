"""Which reminders are due: open offers nobody has answered, and tomorrow's bookings
that have not had their day-before text. Both skip numbers that must receive nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app.data.models import Booking, Campaign, Message, Offer, Patient, Practice, Slot
from app.data.phones import unsendable_numbers


def stamp_due_offer_reminders(session: Session, *, now: datetime, limit: int) -> list[Offer]:
    """Mark up to `limit` due, unanswered, still-open offers as reminded and return them:
    rows another worker holds are skipped, so no offer is reminded twice."""
    replied = exists().where(
        Message.direction == "in",
        Message.from_number == Offer.mobile,
        Message.created_at >= Offer.created_at,
    )
    due = list(
        session.scalars(
            select(Offer.id)
            .join(Campaign, Campaign.id == Offer.campaign_id)
            .where(
                Offer.state == "open",
                Offer.reminder_due_at <= now,
                Offer.reminded_at.is_(None),
                Offer.expires_at > now,
                Campaign.state == "active",
                ~replied,
                Offer.mobile.not_in(unsendable_numbers()),
            )
            .order_by(Offer.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Offer)
        )
    )
    if not due:
        return []
    stamped = list(
        session.scalars(
            update(Offer)
            .where(Offer.id.in_(due), Offer.reminded_at.is_(None), Offer.state == "open")
            .values(reminded_at=now)
            .returning(Offer.id)
        )
    )
    return list(session.scalars(select(Offer).where(Offer.id.in_(stamped))))


def bookings_to_remind(
    session: Session, *, start: datetime, end: datetime, booked_before: datetime, limit: int
) -> list[tuple[Booking, Slot, Patient, Practice]]:
    """Live bookings for slots starting in [start, end), made before `booked_before`,
    to a textable mobile, without a day-before reminder yet."""
    already = exists().where(
        Message.booking_id == Booking.id, Message.kind == "appointment_reminder"
    )
    rows = session.execute(
        select(Booking, Slot, Patient, Practice)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Patient, Patient.id == Booking.patient_id)
        .join(Practice, Practice.id == Slot.practice_id)
        .where(
            Booking.state == "booked",
            Slot.starts_at >= start,
            Slot.starts_at < end,
            Booking.booked_at < booked_before,
            Patient.mobile.is_not(None),
            Patient.mobile.not_in(unsendable_numbers()),
            ~already,
        )
        .order_by(Booking.id)
        .limit(limit)
    ).all()
    return [(b, s, p, pr) for b, s, p, pr in rows]
