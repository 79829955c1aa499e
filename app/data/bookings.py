"""Booking's conditional updates and look-ups: each step of a booking or cancellation is
one statement whose result says whether it won (see `app.services.booking` for the order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from app.data.models import Booking, CampaignMember, Offer, OfferSlot, Patient, Practice, Slot


def choice_slot(session: Session, offer_id: int, position: int) -> int | None:
    """The slot at `position` (1-3) of an offer."""
    return session.scalar(
        select(OfferSlot.slot_id).where(
            OfferSlot.offer_id == offer_id, OfferSlot.position == position
        )
    )


def claim_offer(
    session: Session, offer_id: int, *, now: datetime
) -> Row[int, int, int, str] | None:
    """Offer `open` (unexpired) -> `booked`; its member, patient, campaign and mobile, or
    None when it was not open."""
    return session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.state == "open", Offer.expires_at > now)
        .values(state="booked", closed_at=now)
        .returning(Offer.member_id, Offer.patient_id, Offer.campaign_id, Offer.mobile)
        .execution_options(synchronize_session=False)
    ).one_or_none()


def reopen_offer(session: Session, offer_id: int) -> None:
    """Undo `claim_offer` (the caller holds the offer's row lock)."""
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.state == "booked")
        .values(state="open", closed_at=None)
        .execution_options(synchronize_session=False)
    )


def book_held_slot(session: Session, slot_id: int, offer_id: int) -> datetime | None:
    """Slot `held` by this offer -> `booked`; its start, or None when not so held."""
    return session.scalar(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state == "held", Slot.held_by_offer_id == offer_id)
        .values(state="booked", held_by_offer_id=None)
        .returning(Slot.starts_at)
        .execution_options(synchronize_session=False)
    )


def book_free_slot(session: Session, slot_id: int) -> datetime | None:
    """Slot `free` -> `booked`; its start, or None when it was not free."""
    return session.scalar(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state == "free")
        .values(state="booked")
        .returning(Slot.starts_at)
        .execution_options(synchronize_session=False)
    )


def free_booked_slot(session: Session, slot_id: int) -> None:
    """Put a booked slot with no live booking back on offer."""
    live = select(Booking.id).where(Booking.slot_id == slot_id, Booking.state != "cancelled")
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state == "booked", ~live.exists())
        .values(state="free", held_by_offer_id=None)
    )


def mark_member_booked(session: Session, member_id: int, *, now: datetime) -> None:
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.id == member_id)
        .values(state="booked", updated_at=now)
    )


def mark_patient_booked(session: Session, patient_id: int, *, now: datetime) -> None:
    """Every waiting or offered campaign member of the patient is now booked."""
    session.execute(
        update(CampaignMember)
        .where(
            CampaignMember.patient_id == patient_id,
            CampaignMember.state.in_(("waiting", "offered")),
        )
        .values(state="booked", updated_at=now)
    )


def offer_state(session: Session, offer_id: int) -> Row[str, datetime]:
    """The offer's state and expiry."""
    return session.execute(select(Offer.state, Offer.expires_at).where(Offer.id == offer_id)).one()


def live_booking_of_offer(session: Session, offer_id: int) -> int | None:
    return session.scalar(
        select(Booking.id).where(Booking.offer_id == offer_id, Booking.state != "cancelled")
    )


def slot_and_practice(session: Session, slot_id: int) -> tuple[Slot, Practice]:
    slot, practice = session.execute(
        select(Slot, Practice)
        .join(Practice, Practice.id == Slot.practice_id)
        .where(Slot.id == slot_id)
    ).one()
    return slot, practice


def live_booking_for_number(session: Session, number: str, now: datetime) -> Booking | None:
    """The latest booked, still-future appointment of any patient using `number`."""
    return session.scalar(
        select(Booking)
        .join(Patient, Patient.id == Booking.patient_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Patient.mobile == number, Booking.state == "booked", Slot.starts_at > now)
        .order_by(Booking.booked_at.desc(), Booking.id.desc())
        .limit(1)
    )


def cancel(session: Session, booking_id: int, *, now: datetime) -> Row[int, int | None] | None:
    """Booking `booked` -> `cancelled`; its slot and offer, or None when not booked."""
    return session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.state == "booked")
        .values(state="cancelled", cancelled_at=now)
        .returning(Booking.slot_id, Booking.offer_id)
    ).one_or_none()


def member_waits_again(session: Session, offer_id: int, *, now: datetime) -> None:
    """The offer's member, if booked, goes back to `waiting` (they still need a check)."""
    member_id = select(Offer.member_id).where(Offer.id == offer_id).scalar_subquery()
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.id == member_id, CampaignMember.state == "booked")
        .values(state="waiting", updated_at=now)
    )


def calendar_entry(session: Session, token: str) -> tuple[Slot, Practice] | None:
    """The slot and practice of the live booking with this calendar token."""
    row = session.execute(
        select(Slot, Practice)
        .join(Booking, Booking.slot_id == Slot.id)
        .join(Patient, Patient.id == Booking.patient_id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(Booking.calendar_token == token, Booking.state != "cancelled")
    ).one_or_none()
    return (row.Slot, row.Practice) if row is not None else None
