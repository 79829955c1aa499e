"""Reminders: one no-reply reminder per offer, and the day-before appointment reminder.

Rules (scheduler jobs): a reminder is due `reminder_hours` after an invitation
that is still open and has had no reply from the number (one reminder, never more); an
appointment reminder goes the day before a booked slot (London dates). Both are
query-driven and idempotent: the offer's `reminded_at` is stamped by a conditional
UPDATE, and each message has a dedupe key (`reminder:offer:<id>`,
`appointment_reminder:booking:<id>`), so two schedulers running at once queue one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data import messages
from app.data.db import Database
from app.data.models import (
    Booking,
    Campaign,
    Message,
    Offer,
    OfferSlot,
    Patient,
    Practice,
    Slot,
)
from app.domain import timefmt
from app.services.numbers import unsendable_numbers
from app.sms.rendering import render

LONDON = timefmt.LONDON
BATCH = 5000


def queue_no_reply_reminders(
    db: Database, *, now: datetime, config: dict[str, Any] | None = None
) -> int:
    """Queue the one reminder each due, unanswered, still-open offer gets; how many."""
    with db.transaction() as session:
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
                .limit(BATCH)
                .with_for_update(skip_locked=True, of=Offer)
            )
        )
        if not due:
            return 0
        stamped = list(
            session.scalars(
                update(Offer)
                .where(Offer.id.in_(due), Offer.reminded_at.is_(None), Offer.state == "open")
                .values(reminded_at=now)
                .returning(Offer.id)
            )
        )
        for offer in session.scalars(select(Offer).where(Offer.id.in_(stamped))):
            _queue_reminder(session, offer, now=now, config=config or {})
        return len(stamped)


def _queue_reminder(
    session: Session, offer: Offer, *, now: datetime, config: dict[str, Any]
) -> None:
    practice_name = session.scalar(
        select(Practice.name)
        .join(Patient, Patient.practice_id == Practice.id)
        .where(Patient.id == offer.patient_id)
    )
    starts = session.scalars(
        select(Slot.starts_at)
        .join(OfferSlot, OfferSlot.slot_id == Slot.id)
        .where(OfferSlot.offer_id == offer.id)
        .order_by(OfferSlot.position)
    ).all()
    body = render(
        "reminder",
        practice_name=practice_name or "Your GP practice",
        slots=[timefmt.slot_time(as_utc(s)) for s in starts],
        expiry=timefmt.deadline(as_utc(offer.expires_at)),
    )
    messages.queue(
        session,
        messages.OutboundText(
            to=offer.mobile,
            body=body,
            kind="reminder",
            dedupe_key=f"reminder:offer:{offer.id}",
            from_number=config.get("SMS_FROM_NUMBER"),
            in_send_window=True,
            expires_at=offer.expires_at,
            campaign_id=offer.campaign_id,
            patient_id=offer.patient_id,
            offer_id=offer.id,
        ),
        now=now,
    )


def tomorrow_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of tomorrow in London, as UTC instants (23 or 25 hours at a change)."""
    today = now.astimezone(LONDON).date()
    start = datetime.combine(today + timedelta(days=1), time(0), tzinfo=LONDON)
    end = datetime.combine(today + timedelta(days=2), time(0), tzinfo=LONDON)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


def queue_appointment_reminders(
    db: Database, *, now: datetime, config: dict[str, Any] | None = None
) -> int:
    """Queue the day-before reminder for each live booking tomorrow that lacks one.

    A booking made today for tomorrow is skipped: its confirmation has just said it all.
    """
    config = config or {}
    start, end = tomorrow_bounds(now)
    today_start = start - timedelta(days=1)
    base_url = str(config.get("PUBLIC_BASE_URL", "")).rstrip("/")
    with db.transaction() as session:
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
                Booking.booked_at < today_start,
                Patient.mobile.is_not(None),
                Patient.mobile.not_in(unsendable_numbers()),
                ~already,
            )
            .order_by(Booking.id)
            .limit(BATCH)
        ).all()
        for booking, slot, patient, practice in rows:
            assert patient.mobile is not None
            body = render(
                "appointment_reminder",
                practice_name=practice.name,
                practice_phone=practice.phone or "your GP practice",
                slot_time=timefmt.slot_time(as_utc(slot.starts_at)),
                location=slot.location,
                calendar_url=f"{base_url}/c/{booking.calendar_token}.ics",
            )
            messages.queue(
                session,
                messages.OutboundText(
                    to=patient.mobile,
                    body=body,
                    kind="appointment_reminder",
                    dedupe_key=f"appointment_reminder:booking:{booking.id}",
                    from_number=config.get("SMS_FROM_NUMBER"),
                    in_send_window=True,
                    expires_at=as_utc(slot.starts_at),
                    campaign_id=booking.campaign_id,
                    patient_id=patient.id,
                    booking_id=booking.id,
                ),
                now=now,
            )
        return len(rows)
