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

from sqlalchemy.orm import Session

from app.clock import LONDON, as_utc
from app.data import history, messages
from app.data import offers as offer_data
from app.data import reminders as reminder_data
from app.data.db import Database
from app.data.models import Offer
from app.services import texts
from app.settings import Settings

BATCH = 5000


def queue_no_reply_reminders(
    db: Database, *, now: datetime, settings: Settings = Settings()
) -> int:
    """Queue the one reminder each due, unanswered, still-open offer gets; how many."""
    with db.transaction() as session:
        stamped = reminder_data.stamp_due_offer_reminders(session, now=now, limit=BATCH)
        for offer in stamped:
            _queue_reminder(session, offer, now=now, settings=settings)
        return len(stamped)


def _queue_reminder(session: Session, offer: Offer, *, now: datetime, settings: Settings) -> None:
    practice = history.practice_of(session, offer.patient_id)
    practice_name = practice.name if practice is not None else None
    starts = [slot.starts_at for slot in offer_data.offer_slots(session, offer.id)]
    body = texts.render_for(
        session,
        offer.patient_id,
        "reminder",
        settings=settings,
        practice_name=practice_name or "Your GP practice",
        slots=[as_utc(s) for s in starts],
        expiry=as_utc(offer.expires_at),
    )
    messages.queue(
        session,
        messages.OutboundText(
            to=offer.mobile,
            body=body,
            kind="reminder",
            dedupe_key=f"reminder:offer:{offer.id}",
            from_number=settings.sms_from_number,
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
    db: Database, *, now: datetime, settings: Settings = Settings()
) -> int:
    """Queue the day-before reminder for each live booking tomorrow that lacks one.

    A booking made today for tomorrow is skipped: its confirmation has just said it all.
    """
    start, end = tomorrow_bounds(now)
    today_start = start - timedelta(days=1)
    base_url = settings.public_base_url.rstrip("/")
    with db.transaction() as session:
        rows = reminder_data.bookings_to_remind(
            session, start=start, end=end, booked_before=today_start, limit=BATCH
        )
        for booking, slot, patient, practice in rows:
            assert patient.mobile is not None
            body = texts.render_in(
                patient.language,
                "appointment_reminder",
                settings=settings,
                practice_name=practice.name,
                practice_phone=practice.phone or "your GP practice",
                slot_time=as_utc(slot.starts_at),
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
                    from_number=settings.sms_from_number,
                    in_send_window=True,
                    expires_at=as_utc(slot.starts_at),
                    campaign_id=booking.campaign_id,
                    patient_id=patient.id,
                    booking_id=booking.id,
                ),
                now=now,
            )
        return len(rows)
