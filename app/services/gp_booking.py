"""Carrying residents' choices, changes and staff cancellations to the practice's GP
Connect appointment book, with no database transaction open across a provider call.

The replies job calls `carry_pending` before it acts on a batch: each choice text from
a resident with an open offer at a GP Connect practice claims its offer (`gp_state`
pending, a short commit), is booked in the provider (`POST /Appointment`), and the
answer recorded (booked / refused / failed / unknown, a short commit). Then the job acts
on the text in its usual transaction (`gate`): only `booked` lets Nudge confirm; a
refusal tells the resident that time has gone and offers the others; a choice still
being carried waits for the next run. A timeout or 5xx is retried with backoff, but only
after the patient's appointments have been read and found not to hold the slot, so an
appointment is never made twice. CHANGE and staff cancellations cancel in the provider
first (`PUT /Appointment/{id}`, status cancelled with the reason); one that fails is
left for staff (`booking.attention`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.data import bookings
from app.data import gpconnect as gp_data
from app.data.db import Database
from app.data.models import Booking, Offer, Patient, Practice, Slot
from app.domain.keywords import parse
from app.gpconnect.client import GpConnectClient, GpConnectError, Refused, Unavailable
from app.gpconnect.resources import NewAppointment
from app.services import audit
from app.services.gpconnect import client_for
from app.services.practices import require_by_ods
from app.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = "NHS Health Check booked by text message through Nudge"
# a choice whose answer never came is looked at again after this (checked first)
RETRY_AFTER = timedelta(seconds=20)
# ... and given up on after this: the resident is asked to call, staff see it
GIVE_UP_AFTER = timedelta(minutes=5)
BACKOFF_SECONDS = (0.2, 0.6)
CANCEL_REASON = {"change": "Patient asked to change the time by text message"}


@dataclass(frozen=True)
class _Choice:
    offer_id: int
    slot_id: int
    gp_slot_id: str
    start: datetime
    end: datetime
    patient_id: int
    nhs_number: str
    gp_patient_id: str | None
    recovering: bool
    practice_ods: str
    practice_name: str


def carry_pending(db: Database, *, now: datetime, settings: Settings, limit: int = 20) -> int:
    """Book pending choices and cancel pending CHANGEs in the provider; how many."""
    done = 0
    with db.transaction() as session:
        choices = _claim_choices(session, now=now, limit=limit)
        # the booking CHANGE acts on (the number's latest live one), if in a provider's book
        changes = [
            live.id
            for number in gp_data.numbers_changing(session, now=now, limit=limit)
            if (live := bookings.live_booking_for_number(session, number, now)) is not None
            and live.gp_state in ("booked", "cancelling")
        ]
    for choice in choices:
        _book(db, choice, now=now, settings=settings)
        done += 1
    for booking_id in changes:
        done += (
            cancel_in_provider(
                db, booking_id, reason=CANCEL_REASON["change"], now=now, settings=settings
            )
            is not None
        )
    return done


def _claim_choices(session: Session, *, now: datetime, limit: int) -> list[_Choice]:
    claimed = []
    for pending in gp_data.pending_choices(session, now=now, limit=limit):
        intent = parse(pending.message_body)
        if intent.kind != "choice" or intent.choice is None:
            continue
        slot = gp_data.held_choice(session, pending.offer_id, intent.choice)
        if slot is None or slot.gpconnect_id is None or slot.gone_at is not None:
            continue  # the replies job answers it (slot gone, or not GP Connect)
        before = gp_data.claim_choice(
            session, pending.offer_id, slot.id, now=now, retry_before=now - RETRY_AFTER
        )
        if before == "no":
            continue
        offer = session.get(Offer, pending.offer_id)
        assert offer is not None
        patient = session.get(Patient, offer.patient_id)
        assert patient is not None
        practice = session.get(Practice, patient.practice_id)
        assert practice is not None
        claimed.append(
            _Choice(
                offer_id=offer.id,
                slot_id=slot.id,
                gp_slot_id=slot.gpconnect_id,
                start=slot.starts_at,
                end=slot.starts_at + timedelta(minutes=slot.duration_minutes),
                patient_id=patient.id,
                nhs_number=patient.nhs_number,
                gp_patient_id=patient.gpconnect_patient_id,
                recovering=before is not None,
                practice_ods=practice.ods_code,
                practice_name=practice.name,
            )
        )
    return claimed


def _client(db: Database, ods: str, settings: Settings) -> GpConnectClient:
    with db.sessions() as session:
        return client_for(require_by_ods(session, ods), settings)


def _book(db: Database, choice: _Choice, *, now: datetime, settings: Settings) -> None:
    """Book one claimed choice in the provider and record what came of it."""
    client = _client(db, choice.practice_ods, settings)
    state, appointment_id, patient_found = "unknown", None, choice.gp_patient_id
    try:
        patient_found = patient_found or client.find_patient(choice.nhs_number)
        if patient_found is None:
            state = "failed"
        else:
            state, appointment_id = _book_once(client, choice, patient_found, settings)
    except Refused as refusal:
        log.warning("GP Connect refused offer %s: %s", choice.offer_id, refusal)
        state = "failed"
    except Unavailable as error:
        log.warning("GP Connect unavailable for offer %s: %s", choice.offer_id, error)
    finally:
        client.close()
    if state == "unknown" and now - _started(db, choice.offer_id, now) >= GIVE_UP_AFTER:
        state = "failed"
    with db.transaction() as session:
        if patient_found and not choice.gp_patient_id:
            gp_data.remember_patient(session, choice.patient_id, patient_found)
        gp_data.settle_choice(session, choice.offer_id, state=state, appointment_id=appointment_id)


def _started(db: Database, offer_id: int, now: datetime) -> datetime:
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        return offer.gp_started_at if offer and offer.gp_started_at else now


def _book_once(
    client: GpConnectClient,
    choice: _Choice,
    patient: str,
    settings: Settings,
    *,
    comment: str | None = None,
) -> tuple[str, str | None]:
    """POST the appointment; on no answer, read the patient's appointments before any
    retry. (state, appointment id)."""
    new = NewAppointment(
        slot_id=choice.gp_slot_id,
        patient_id=patient,
        start=choice.start,
        end=choice.end,
        description=DESCRIPTION,
        comment=comment
        or f"Booked by the patient replying to an SMS invitation (offer {choice.offer_id})",
        booking_ods=settings.gpconnect_consumer_ods,
        booking_name=settings.gpconnect_consumer_name,
        created=datetime.now(choice.start.tzinfo),
    )
    check_first = choice.recovering
    for attempt in range(len(BACKOFF_SECONDS) + 1):
        if check_first:
            existing = _already_booked(client, choice, patient)
            if existing is not None:
                return "booked", existing
        try:
            return "booked", client.book(new).id
        except Refused as refusal:
            if refusal.status >= 400 and check_first:
                # our own earlier attempt may be what holds the slot
                existing = _already_booked(client, choice, patient)
                if existing is not None:
                    return "booked", existing
            return "refused", None
        except Unavailable:
            if attempt == len(BACKOFF_SECONDS):
                raise
            time.sleep(BACKOFF_SECONDS[attempt])
            check_first = True
    return "unknown", None


def _already_booked(client: GpConnectClient, choice: _Choice, patient: str) -> str | None:
    day = choice.start.date()
    for appointment in client.patient_appointments(patient, day, day):
        if appointment.status == "booked" and choice.gp_slot_id in appointment.slot_ids:
            return appointment.id
    return None


# -- staff booking for a patient (e.g. after a phone call) --------------------------------


class StaffBookingRefused(Exception):
    """The practice's own appointment book did not take a staff booking: nothing is booked."""


def book_for_staff(
    db: Database, made_booking_id: int, *, now: datetime, actor: str, settings: Settings
) -> None:
    """Carry a staff booking Nudge has just made at a GP Connect practice into the
    practice's book, outside any transaction (the slot is already out of every offer's
    reach). A 201 attaches the appointment; a refusal, or no answer after the retries
    and the check of the patient's appointments, cancels Nudge's booking and raises
    StaffBookingRefused saying what staff should do."""
    with db.sessions() as session:
        made = session.get(Booking, made_booking_id)
        assert made is not None
        slot = session.get(Slot, made.slot_id)
        patient = session.get(Patient, made.patient_id)
        assert slot is not None and patient is not None and slot.gpconnect_id is not None
        practice = session.get(Practice, slot.practice_id)
        assert practice is not None
        choice = _Choice(
            offer_id=0,
            slot_id=slot.id,
            gp_slot_id=slot.gpconnect_id,
            start=slot.starts_at,
            end=slot.starts_at + timedelta(minutes=slot.duration_minutes),
            patient_id=patient.id,
            nhs_number=patient.nhs_number,
            gp_patient_id=patient.gpconnect_patient_id,
            recovering=False,
            practice_ods=practice.ods_code,
            practice_name=practice.name,
        )
    client = _client(db, choice.practice_ods, settings)
    state, appointment_id, found = "unknown", None, choice.gp_patient_id
    try:
        found = found or client.find_patient(choice.nhs_number)
        if found is not None:
            state, appointment_id = _book_once(
                client, choice, found, settings, comment=f"Booked by practice staff ({actor})"
            )
        else:
            state = "no_patient"
    except Refused:
        state = "refused"
    except Unavailable:
        state = "unknown"
    finally:
        client.close()
    with db.transaction() as session:
        if found and not choice.gp_patient_id:
            gp_data.remember_patient(session, choice.patient_id, found)
        if state == "booked" and appointment_id is not None:
            gp_data.attach_appointment(session, made_booking_id, appointment_id, now=now)
            return
        undone = bookings.cancel(session, made_booking_id, now=now)
        if undone is not None and state == "refused":
            gp_data.take_out_of_use_booked(session, choice.slot_id)
        elif undone is not None:
            bookings.free_booked_slot(session, choice.slot_id)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="booking.gpconnect_staff_refused",
            target=f"booking:{made_booking_id}",
            detail={"state": state, "slot_id": choice.slot_id},
        )
    raise StaffBookingRefused(
        {
            "refused": "That time has gone in the practice's appointment book: choose another",
            "no_patient": "The practice's system has no patient with this NHS number: "
            "book in the clinical system",
            "unknown": "The practice's system did not answer: check it for an appointment at "
            "that time before booking again",
        }[state]
    )


# -- in the replies job's transaction -------------------------------------------------------


def gate(session: Session, offer: Offer, position: int, *, now: datetime) -> str:
    """What a choice on `offer` may do now: regular (not GP Connect, or nothing to book:
    Nudge's own rules answer), booked (the provider booked it), gone (the practice gave
    the time away), failed (the provider could not book it), or wait (being carried)."""
    if gp_data.slot_source_of_patient(session, offer.patient_id) != "gpconnect":
        return "regular"
    slot = gp_data.held_choice(session, offer.id, position)
    if offer.gp_state == "booked" and slot is not None and offer.gp_slot_id == slot.id:
        return "booked"
    if offer.gp_state in ("refused", "failed") and slot is not None:
        return "gone" if offer.gp_state == "refused" else "failed"
    if slot is None or offer.state != "open" or offer.expires_at <= now:
        return "regular"
    if slot.gone_at is not None:
        return "gone"
    return "wait"


def time_gone(session: Session, offer: Offer, slot_id: int | None, *, failed: bool) -> None:
    """The choice's slot leaves use (unless the provider failed rather than refused);
    the offer may be chosen from again."""
    if slot_id is not None and not failed:
        gp_data.take_out_of_use(session, slot_id)
    gp_data.reset_choice(session, offer.id)
    session.expire(offer)


def attach(session: Session, booking_id: int, offer: Offer, *, now: datetime) -> None:
    assert offer.gp_appointment_id is not None
    gp_data.attach_appointment(session, booking_id, offer.gp_appointment_id, now=now)


def change_gate(session: Session, booking: Booking) -> str:
    """regular (not in a provider, or its cancellation there is settled), wait."""
    if booking.gpconnect_appointment_id is None or booking.gp_state in (
        "cancelled",
        "cancel_failed",
    ):
        return "regular"
    return "wait"


# -- cancelling, amending -----------------------------------------------------------------


def cancel_in_provider(
    db: Database, booking_id: int, *, reason: str, now: datetime, settings: Settings
) -> str | None:
    """Cancel the booking's appointment in the provider: `cancelled`, `cancel_failed`
    (left for staff), or None when it has none to cancel or another cancellation has it."""
    with db.transaction() as session:
        appointment_id = gp_data.claim_cancellation(session, booking_id, now=now)
        if appointment_id is None:
            return None
        ods = _booking_practice_ods(session, booking_id)
    client = _client(db, ods, settings)
    attention = None
    try:
        client.cancel(appointment_id, reason)
        state = "cancelled"
    except (Refused, Unavailable) as error:
        state = "cancel_failed"
        attention = (
            f"Cancel GP Connect appointment {appointment_id} in the clinical system by hand: "
            f"the GP system did not cancel it ({error})"
        )
    finally:
        client.close()
    with db.transaction() as session:
        gp_data.settle_cancellation(session, booking_id, state=state, attention=attention, now=now)
        audit.record(
            session,
            now=now,
            actor="gpconnect",
            action="booking.gpconnect_cancel",
            target=f"booking:{booking_id}",
            detail={"appointment": appointment_id, "state": state},
        )
    return state


def _booking_practice_ods(session: Session, booking_id: int) -> str:
    booking = session.get(Booking, booking_id)
    assert booking is not None
    slot = session.get(Slot, booking.slot_id)
    assert slot is not None
    practice = session.get(Practice, slot.practice_id)
    assert practice is not None
    return practice.ods_code


class NotAmended(Exception):
    """The provider did not take the change (refused or unreachable): nothing changed."""


def amend_in_provider(
    db: Database, booking_id: int, *, comment: str, now: datetime, actor: str, settings: Settings
) -> None:
    """Change the appointment's comment in the provider (e.g. staff add a note); raises
    LookupError for a booking not in a GP Connect book, NotAmended when the provider
    did not take it."""
    with db.sessions() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.gpconnect_appointment_id is None:
            raise LookupError("this booking is not in a GP Connect appointment book")
        appointment_id = booking.gpconnect_appointment_id
        ods = _booking_practice_ods(session, booking_id)
    client = _client(db, ods, settings)
    try:
        client.amend(appointment_id, comment=comment)
    except GpConnectError as exc:
        raise NotAmended(str(exc)) from exc
    finally:
        client.close()
    with db.transaction() as session:
        audit.record(
            session,
            now=now,
            actor=actor,
            action="booking.gpconnect_amend",
            target=f"booking:{booking_id}",
            detail={"appointment": appointment_id},
        )
