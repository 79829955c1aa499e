"""Opt-outs and textability of mobile numbers, across every practice and campaign.

STOP (or Twilio's 21610) opts a number out at once and for good: queued messages to it
are cancelled before they are sent, its open offers close and their holds are released,
and every campaign member on that number stops being nudged. START reverses the opt-out
(for future campaigns; closed offers stay closed). A permanent delivery failure does the
same as STOP for sending, but records the number as not textable instead.
These functions work in the caller's transaction and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.data import messages
from app.data.models import CampaignMember, Offer, Patient, PhoneNumber
from app.data.offers import close_open_offers
from app.data.phones import unsendable_numbers


def _phone(session: Session, number: str) -> PhoneNumber:
    """The number's row, locked for the rest of the transaction (created if new)."""
    row = session.scalar(select(PhoneNumber).where(PhoneNumber.number == number).with_for_update())
    if row is None:
        row = PhoneNumber(number=number)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent insert won: lock theirs
            row = session.scalar(
                select(PhoneNumber).where(PhoneNumber.number == number).with_for_update()
            )
            assert row is not None
    return row


def _stop_sending(session: Session, number: str, *, now: datetime, member_state: str) -> None:
    messages.cancel_queued(session, now=now, to_number=number)
    close_open_offers(session, Offer.mobile == number, state="withdrawn", now=now)
    patients = select(Patient.id).where(Patient.mobile == number).scalar_subquery()
    session.execute(
        update(CampaignMember)
        .where(
            CampaignMember.patient_id.in_(patients),
            CampaignMember.state.in_(("waiting", "offered")),
        )
        .values(state=member_state, updated_at=now)
    )


def opt_out(session: Session, number: str, *, now: datetime, word: str, source: str) -> bool:
    """Opt `number` out; True if it was not already opted out (so acknowledge once)."""
    phone = _phone(session, number)
    newly = phone.opted_out_at is None
    if newly:
        phone.opted_out_at = now
        phone.opt_out_word = word[:40]
        phone.opt_out_source = source
        phone.opted_in_at = None
    _stop_sending(session, number, now=now, member_state="opted_out")
    return newly


def opt_in(session: Session, number: str, *, now: datetime) -> bool:
    """Reverse an opt-out (START / UNSTOP); True if the number was opted out."""
    phone = _phone(session, number)
    if phone.opted_out_at is None:
        return False
    phone.opted_out_at = None
    phone.opted_in_at = now
    phone.opt_out_acknowledged_at = None
    return True


def mark_not_textable(session: Session, number: str, *, now: datetime, reason: str) -> None:
    """Record a permanent failure (invalid, landline, unreachable) and stop sending to it."""
    phone = _phone(session, number)
    if phone.not_textable_at is None:
        phone.not_textable_at = now
        phone.not_textable_reason = reason[:60]
    _stop_sending(session, number, now=now, member_state="not_textable")


def is_opted_out(session: Session, number: str) -> bool:
    return (
        session.scalar(
            select(PhoneNumber.number).where(
                PhoneNumber.number == number, PhoneNumber.opted_out_at.is_not(None)
            )
        )
        is not None
    )


__all__ = ["is_opted_out", "mark_not_textable", "opt_in", "opt_out", "unsendable_numbers"]
