"""Booking a held slot, cancelling a booking, and staff bookings: never double-booked.

Every step is a conditional update whose row count is checked, in a fixed order, so the
database (row locks on PostgreSQL, the single writer on SQLite, and the partial unique
indexes `uq_booking_live_slot` / `uq_booking_live_offer`) makes a double booking
impossible under any interleaving, not just unlikely:

1. offer `open` -> `booked` (only if unexpired): the same row expiry, STOP and decline
   update first (`close_open_offers`), so whichever commits first wins and the other
   finds the offer no longer open;
2. slot `held` by this offer -> `booked`;
3. the offer's other two holds go back to `free` at once;
4. insert the booking (the unique indexes back steps 1-2 up);
5. member -> `booked`; queued invitations/reminders for the offer are cancelled;
6. the confirmation is queued (dedupe `confirmation:booking:<id>`), outside the send
   window, because the resident is waiting for it.

These functions work in the caller's transaction and never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.data import bookings, messages
from app.data.db import Database
from app.data.models import (
    Booking,
    Message,
    Offer,
    Patient,
    Practice,
    Slot,
)
from app.data.offers import close_open_offers, release_holds
from app.services import audit, texts
from app.settings import Settings

DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# the day-before appointment reminder (the reminders job sends it)
APPOINTMENT_REMINDER_BEFORE = timedelta(hours=24)


@dataclass(frozen=True)
class BookingResult:
    """`outcome`: booked | already_booked | expired | closed | no_such_choice | slot_gone."""

    outcome: str
    booking_id: int | None = None
    slot_id: int | None = None

    @property
    def booked(self) -> bool:
        return self.outcome == "booked"


class SlotUnavailable(Exception):
    """The slot is not free (held for someone's offer, booked, or cancelled)."""


def calendar_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/c/{token}.ics"


def _base_url(settings: Settings) -> str:
    return settings.public_base_url or DEFAULT_PUBLIC_BASE_URL


def book_choice(
    session: Session,
    offer_id: int,
    position: int,
    *,
    now: datetime,
    settings: Settings = Settings(),
) -> BookingResult:
    """Book the slot at `position` (1-3) of an open, unexpired offer (see module rules)."""
    slot_id = bookings.choice_slot(session, offer_id, position)
    if slot_id is None:
        return BookingResult("no_such_choice")
    claimed = bookings.claim_offer(session, offer_id, now=now)
    if claimed is None:
        return _why_not(session, offer_id, now)
    starts_at = bookings.book_held_slot(session, slot_id, offer_id)
    if starts_at is None:
        # cannot happen while holds are only released by closing the offer first; if it
        # does, undo step 1 (we hold the offer's row lock) and book nothing
        bookings.reopen_offer(session, offer_id)
        return BookingResult("slot_gone", slot_id=slot_id)
    release_holds(session, [offer_id])
    # a second live booking would raise here and roll the whole unit of work back: the
    # unique indexes are the backstop if the steps above were ever bypassed
    booking = _add_booking(
        session,
        slot_id=slot_id,
        starts_at=starts_at,
        patient_id=claimed.patient_id,
        offer_id=offer_id,
        campaign_id=claimed.campaign_id,
        source="sms",
        by=None,
        now=now,
    )
    bookings.mark_member_booked(session, claimed.member_id, now=now)
    messages.cancel_queued(session, now=now, offer_ids=[offer_id], kinds=messages.OFFER_TEXTS)
    queue_confirmation(session, booking, to=claimed.mobile, now=now, settings=settings)
    return BookingResult("booked", booking_id=booking.id, slot_id=slot_id)


def _why_not(session: Session, offer_id: int, now: datetime) -> BookingResult:
    row = bookings.offer_state(session, offer_id)
    if row.state == "booked":
        existing = bookings.live_booking_of_offer(session, offer_id)
        return BookingResult("already_booked", booking_id=existing)
    if row.state == "expired" or (row.state == "open" and row.expires_at <= now):
        return BookingResult("expired")
    return BookingResult("closed")


def _add_booking(
    session: Session,
    *,
    slot_id: int,
    starts_at: datetime,
    patient_id: int,
    offer_id: int | None,
    campaign_id: int | None,
    source: str,
    by: str | None,
    now: datetime,
) -> Booking:
    reminder_due = starts_at - APPOINTMENT_REMINDER_BEFORE
    booking = Booking(
        slot_id=slot_id,
        patient_id=patient_id,
        offer_id=offer_id,
        campaign_id=campaign_id,
        state="booked",
        source=source,
        booked_at=now,
        booked_by=by,
        # 24 random bytes: unguessable, and says nothing about the patient or the slot
        calendar_token=secrets.token_urlsafe(24),
        appointment_reminder_due_at=reminder_due if reminder_due > now else None,
    )
    session.add(booking)
    session.flush()  # the unique indexes check here: a second live booking raises
    return booking


def queue_confirmation(
    session: Session,
    booking: Booking,
    *,
    to: str,
    now: datetime,
    settings: Settings = Settings(),
) -> Message:
    """Queue the booking's confirmation SMS once (dedupe `confirmation:booking:<id>`)."""
    slot, practice = bookings.slot_and_practice(session, booking.slot_id)
    body = texts.render_for(
        session,
        booking.patient_id,
        "confirmation",
        settings=settings,
        practice_name=practice.name,
        practice_address=practice.address or slot.location,
        location=slot.location,
        slot_time=slot.starts_at,
        duration_minutes=slot.duration_minutes,
        calendar_url=calendar_url(_base_url(settings), booking.calendar_token),
    )
    return messages.queue(
        session,
        messages.OutboundText(
            to=to,
            body=body,
            kind="confirmation",
            dedupe_key=f"confirmation:booking:{booking.id}",
            from_number=settings.sms_from_number,
            in_send_window=False,
            campaign_id=booking.campaign_id,
            patient_id=booking.patient_id,
            offer_id=booking.offer_id,
            booking_id=booking.id,
        ),
        now=now,
    )


def cancel_booking(
    session: Session,
    booking_id: int,
    *,
    now: datetime,
    reason: str,
    by: str = "system",
    free_slot: bool = True,
) -> bool:
    """Cancel a live booking and free its slot; True if this call cancelled it.

    The booking row is updated first (`booked` -> `cancelled`, checked by row count), so
    a CHANGE repeated or racing a staff cancellation frees the slot exactly once. The
    member goes back to `waiting` (they still need a check); queued appointment reminders
    for the booking are cancelled. `free_slot=False` leaves the slot booked for the
    caller to free with `free_booked_slot` later in the same transaction (CHANGE does,
    so the new offer does not hand back the time just given up).
    """
    cancelled = bookings.cancel(session, booking_id, now=now)
    if cancelled is None:
        return False
    if free_slot:
        bookings.free_booked_slot(session, cancelled.slot_id)
    messages.cancel_queued(session, now=now, booking_id=booking_id, kinds=("appointment_reminder",))
    if cancelled.offer_id is not None:
        bookings.member_waits_again(session, cancelled.offer_id, now=now)
    audit.record(
        session,
        now=now,
        actor=by,
        action="booking.cancel",
        target=f"booking:{booking_id}",
        detail={"reason": reason},
    )
    return True


def staff_book(
    session: Session,
    patient_id: int,
    slot_id: int,
    *,
    now: datetime,
    by: str,
    settings: Settings = Settings(),
    send_confirmation: bool = True,
) -> Booking:
    """Book a free slot for a patient on staff's word (e.g. they phoned the practice).

    Only a `free` slot can be taken (conditional update, row count checked): a slot held
    for someone's offer is theirs until it is booked or released. Raises SlotUnavailable.
    The patient's open offer, if any, is closed as `withdrawn` (its holds released),
    because they are now booked.
    """
    starts_at = bookings.book_free_slot(session, slot_id)
    if starts_at is None:
        raise SlotUnavailable(f"slot {slot_id} is not free")
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise LookupError(f"no patient {patient_id}")
    closed = close_open_offers(session, Offer.patient_id == patient_id, state="withdrawn", now=now)
    bookings.mark_patient_booked(session, patient_id, now=now)
    try:
        with session.begin_nested():
            booking = _add_booking(
                session,
                slot_id=slot_id,
                starts_at=starts_at,
                patient_id=patient_id,
                offer_id=None,
                campaign_id=None,
                source="staff",
                by=by,
                now=now,
            )
    except IntegrityError as error:  # a live booking on the slot already: refuse
        raise SlotUnavailable(f"slot {slot_id} is already booked") from error
    audit.record(
        session,
        now=now,
        actor=by,
        action="booking.staff_book",
        target=f"booking:{booking.id}",
        detail={"slot_id": slot_id, "withdrawn_offers": closed},
    )
    if send_confirmation and patient.mobile:
        queue_confirmation(session, booking, to=patient.mobile, now=now, settings=settings)
    return booking


def calendar_entry(db: Database, token: str) -> tuple[Slot, Practice] | None:
    """The slot and practice of the live booking with this calendar token (read only)."""
    with db.sessions() as session:
        return bookings.calendar_entry(session, token)
