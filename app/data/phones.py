"""Phone-number state: the locked row for a number, whether it is opted out, which
numbers must receive nothing, and stopping the campaign members on a number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.data.models import CampaignMember, Patient, PhoneNumber


def unsendable_numbers() -> Select[Any]:
    """Numbers that must receive nothing but an opt-out acknowledgement (for subqueries)."""
    return select(PhoneNumber.number).where(
        or_(PhoneNumber.opted_out_at.is_not(None), PhoneNumber.not_textable_at.is_not(None))
    )


def lock_phone(session: Session, number: str) -> PhoneNumber:
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


def is_opted_out(session: Session, number: str) -> bool:
    return (
        session.scalar(
            select(PhoneNumber.number).where(
                PhoneNumber.number == number, PhoneNumber.opted_out_at.is_not(None)
            )
        )
        is not None
    )


def is_unsendable(session: Session, number: str) -> bool:
    """The number has opted out or cannot be texted."""
    found = session.scalar(unsendable_numbers().where(PhoneNumber.number == number))
    return found is not None


def stop_members_on(session: Session, number: str, *, state: str, now: datetime) -> None:
    """Every waiting or offered campaign member whose patient has `number` moves to `state`."""
    patients = select(Patient.id).where(Patient.mobile == number).scalar_subquery()
    session.execute(
        update(CampaignMember)
        .where(
            CampaignMember.patient_id.in_(patients),
            CampaignMember.state.in_(("waiting", "offered")),
        )
        .values(state=state, updated_at=now)
    )
