"""Who is texting: the sender's open offer, else their latest offer, else their live
booking, else the patient the practice that last texted the number wrote about; loaded
one number at a time or, for the common case of an open offer, for a whole batch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.data import bookings, history, messages, offers
from app.data.models import Booking, Offer, Patient, Practice
from app.data.offers import open_offer_for
from app.domain import languages

FALLBACK_PHONE = "your GP practice"


class Context:
    """Who is texting: their open offer, else their latest offer; their live booking.

    The booking is looked up only when an action needs it (a choice on an open offer,
    the common case, never does).
    """

    def __init__(
        self,
        session: Session,
        now: datetime,
        number: str,
        patient_id: int | None,
        practice: Practice | None,
        open_offer: Offer | None,
        latest_offer: Offer | None,
        booking: Booking | None | _Unknown = None,
    ) -> None:
        self._session, self._now = session, now
        self.number = number
        self.patient_id = patient_id
        self.practice = practice
        self.open_offer = open_offer
        self.latest_offer = latest_offer
        self._booking = booking
        self._language: str | None = None

    @property
    def booking(self) -> Booking | None:
        if isinstance(self._booking, _Unknown):
            self._booking = bookings.live_booking_for_number(self._session, self.number, self._now)
        return self._booking

    @booking.setter
    def booking(self, value: Booking | None) -> None:
        self._booking = value

    @property
    def known(self) -> bool:
        return self.patient_id is not None

    @property
    def phone(self) -> str:
        return (self.practice.phone if self.practice else None) or FALLBACK_PHONE

    @property
    def practice_name(self) -> str:
        return self.practice.name if self.practice else "your GP practice"

    @property
    def language(self) -> str:
        """The patient's language ('en' for an unknown sender)."""
        if self._language is None:
            patient = (
                self._session.get(Patient, self.patient_id) if self.patient_id is not None else None
            )
            self._language = patient.language if patient is not None else languages.ENGLISH
        return self._language

    @language.setter
    def language(self, code: str) -> None:
        self._language = code

    @property
    def member_id(self) -> int | None:
        offer = self.open_offer or self.latest_offer
        return offer.member_id if offer else None


class _Unknown:
    """Not looked up yet."""


def open_offer_contexts(
    session: Session, numbers: Iterable[str], now: datetime
) -> dict[str, Context]:
    """The context of each of `numbers` with an open offer (the common case), loaded for
    a whole batch in three queries: their open offers, their patients' practices and
    languages."""
    open_offers = offers.open_offers_for(session, numbers)
    patient_ids = {o.patient_id for o in open_offers.values()}
    practices = history.practices_of(session, patient_ids)
    spoken = history.languages_of(session, patient_ids)
    contexts = {
        number: Context(
            session,
            now,
            number,
            offer.patient_id,
            practices.get(offer.patient_id),
            offer,
            offer,
            _Unknown(),
        )
        for number, offer in open_offers.items()
    }
    for context in contexts.values():
        if context.patient_id in spoken:
            context.language = spoken[context.patient_id]
    return contexts


def context_for(session: Session, number: str, now: datetime) -> Context:
    open_offer = open_offer_for(session, number)
    latest_offer = open_offer or offers.latest_offer_for(session, number)
    booking: Booking | None | _Unknown = _Unknown()
    patient_id: int | None
    if latest_offer is not None:
        patient_id = latest_offer.patient_id
    else:
        booking = bookings.live_booking_for_number(session, number, now)
        patient_id = booking.patient_id if booking is not None else None
    if patient_id is None:
        # no offer or booking: the patient the practice that last texted the number wrote
        # about, else (never texted) the first patient on record with this mobile
        patient_id = messages.last_patient_texted(session, number) or history.first_patient_on(
            session, number
        )
    practice = history.practice_of(session, patient_id) if patient_id is not None else None
    return Context(session, now, number, patient_id, practice, open_offer, latest_offer, booking)
