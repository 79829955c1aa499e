"""A patient's history as staff read it: the patient by NHS number, their offers and
bookings (their messages come from `app.data.messages.thread`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.data.models import Booking, Campaign, Offer, Patient, Practice, Slot


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


def demo_residents(session: Session, limit: int) -> list[tuple[str | None, str | None, str]]:
    """(given, family, mobile) of patients with an Ofcom drama-range mobile, those with an
    offer first: the people a demo's phone can play."""
    has_offer = select(Offer.id).where(Offer.patient_id == Patient.id).exists()
    rows = session.execute(
        select(Patient.given_name, Patient.family_name, Patient.mobile)
        .where(Patient.mobile.between("+447700900000", "+447700900999"))
        .order_by(has_offer.desc(), Patient.id)
        .limit(limit)
    )
    return [(given, family, mobile or "") for given, family, mobile in rows]


def first_patient_on(session: Session, number: str) -> int | None:
    """The first patient on record with this mobile."""
    return session.scalar(
        select(Patient.id).where(Patient.mobile == number).order_by(Patient.id).limit(1)
    )


def practice_of(session: Session, patient_id: int) -> Practice | None:
    return session.scalar(
        select(Practice)
        .join(Patient, Patient.practice_id == Practice.id)
        .where(Patient.id == patient_id)
    )


def practices_of(session: Session, patient_ids: Iterable[int]) -> dict[int, Practice]:
    """Each patient's practice, in one query."""
    rows = session.execute(
        select(Patient.id, Practice)
        .join(Practice, Patient.practice_id == Practice.id)
        .where(Patient.id.in_(list(patient_ids)))
    )
    return {patient_id: practice for patient_id, practice in rows}


def slot_start(session: Session, slot_id: int) -> datetime | None:
    return session.scalar(select(Slot.starts_at).where(Slot.id == slot_id))


def patient_ids_of(session: Session, practice_id: int) -> list[int]:
    """Every patient id of the practice, in id order."""
    query = select(Patient.id).where(Patient.practice_id == practice_id).order_by(Patient.id)
    return list(session.scalars(query))


def translated_patients(session: Session, practice_id: int) -> int:
    """How many of the practice's patients have a language other than English."""
    query = select(func.count()).where(Patient.practice_id == practice_id, Patient.language != "en")
    return int(session.scalar(query) or 0)


def languages_of(session: Session, patient_ids: Iterable[int]) -> dict[int, str]:
    """Each patient's language, in one query."""
    ids = list(patient_ids)
    if not ids:
        return {}
    query = select(Patient.id, Patient.language).where(Patient.id.in_(ids))
    return {patient_id: language for patient_id, language in session.execute(query)}
