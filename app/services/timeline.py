"""A patient's timeline for staff: invitations, messages, bookings and opt-out, in order.

Read-only and scoped by the caller to the practices the user may see. Messages are found
by the patient they were about (a reply is attributed when it is acted on), never by
mobile number: families share phones across practices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data import history, messages
from app.data.db import Database
from app.data.models import Patient, PhoneNumber
from app.domain import timefmt
from app.domain.nhs_number import clean, is_valid


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # invitation | message_in | message_out | booking | opt_out | left_list
    title: str
    detail: str
    state: str


@dataclass
class PatientTimeline:
    patient: Patient
    events: list[Event]
    opted_out_at: datetime | None


class SearchError(ValueError):
    """The NHS number typed is not valid; the message is safe to show."""


def find(
    db: Database, nhs_number: str, practice_ids: Iterable[int] | None
) -> list[PatientTimeline]:
    """Timelines of the patients with this NHS number in `practice_ids` (None: all)."""
    number = clean(nhs_number)
    if not is_valid(number):
        raise SearchError("Enter a valid 10-digit NHS number")
    with db.transaction() as session:
        return [
            _timeline(session, p)
            for p in history.patients_by_nhs_number(session, number, practice_ids)
        ]


def _timeline(session: Session, patient: Patient) -> PatientTimeline:
    events: list[Event] = []
    for offer, campaign_name in history.offers_of(session, patient.id):
        events.append(
            Event(
                as_utc(offer.created_at),
                "invitation",
                f"Invitation {offer.sequence}",
                f"{campaign_name}: three times held, variant {offer.variant}",
                offer.state,
            )
        )
    # by the patient only: a mobile shared with another practice's patient must not
    # bring their texts here
    for message in messages.thread(session, patient_id=patient.id, limit=500):
        inbound = message.direction == "in"
        events.append(
            Event(
                as_utc(message.created_at),
                "message_in" if inbound else "message_out",
                "Text from the patient" if inbound else f"Text to the patient ({message.kind})",
                message.body,
                message.status,
            )
        )
    for booking, starts_at, location in history.bookings_of(session, patient.id):
        events.append(
            Event(
                as_utc(booking.booked_at),
                "booking",
                "Booked",
                f"Appointment {timefmt.slot_time(as_utc(starts_at))} at {location}"
                f" (by {'text reply' if booking.source == 'sms' else 'staff'})",
                booking.state,
            )
        )
    opted = None
    if patient.mobile:
        phone = session.get(PhoneNumber, patient.mobile)
        if phone is not None and phone.opted_out_at is not None:
            opted = as_utc(phone.opted_out_at)
            events.append(
                Event(
                    opted,
                    "opt_out",
                    "Opted out",
                    f"By {phone.opt_out_source or 'sms'}",
                    "opted_out",
                )
            )
    if patient.left_list_at is not None:
        events.append(
            Event(
                as_utc(patient.left_list_at),
                "left_list",
                "Left the practice list",
                "Not on the practice's latest list: will not be invited",
                "left_list",
            )
        )
    events.sort(key=lambda e: e.at)
    return PatientTimeline(patient, events, opted)
