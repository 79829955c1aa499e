"""Check outcomes: the attended checks outcomes link to, and storing what they found."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from app.data.models import Booking, CampaignMember, CheckOutcome, Offer, Patient, Slot

_CHUNK = 500


def first_attended_at(session: Session, practice_id: int) -> datetime | None:
    """When the practice's earliest attended check started (None: no check attended)."""
    return session.scalar(
        select(func.min(Slot.starts_at))
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Slot.practice_id == practice_id, Booking.state == "attended")
    )


def attended_checks(session: Session, practice_id: int) -> list[Any]:
    """(NHS number, patient id, booking id, member id or None, starts at) for every
    attended check in the practice's diary. The member is the offer's, or for a booking
    made by staff in a campaign, the patient's member of that campaign."""
    member = select(CampaignMember.id).where(
        CampaignMember.campaign_id == Booking.campaign_id,
        CampaignMember.patient_id == Booking.patient_id,
    )
    return list(
        session.execute(
            select(
                Patient.nhs_number,
                Patient.id,
                Booking.id,
                func.coalesce(Offer.member_id, member.limit(1).scalar_subquery()),
                Slot.starts_at,
            )
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Patient, Patient.id == Booking.patient_id)
            .outerjoin(Offer, Offer.id == Booking.offer_id)
            .where(Slot.practice_id == practice_id, Booking.state == "attended")
            .order_by(Slot.starts_at, Booking.id)
        ).all()
    )


def replace_event_outcomes(
    session: Session, booking_ids: Iterable[int], rows: Sequence[Mapping[str, Any]]
) -> None:
    """The events outcomes of these bookings become `rows` (an events file is the whole
    record: a re-import replaces what the last one linked)."""
    ids = sorted(set(booking_ids))
    for i in range(0, len(ids), _CHUNK):
        session.execute(
            delete(CheckOutcome).where(
                CheckOutcome.booking_id.in_(ids[i : i + _CHUNK]), CheckOutcome.source == "events"
            ),
            execution_options={"synchronize_session": False},
        )
    if rows:
        session.execute(insert(CheckOutcome), [dict(r) for r in rows])


def replace_staff_outcomes(
    session: Session,
    booking_id: int,
    values: Mapping[str, float],
    *,
    member_id: int | None,
    patient_id: int,
    on: Any,
    now: datetime,
) -> None:
    """What staff recorded for a check replaces what they recorded before."""
    session.execute(
        delete(CheckOutcome).where(
            CheckOutcome.booking_id == booking_id, CheckOutcome.source == "staff"
        ),
        execution_options={"synchronize_session": False},
    )
    for kind, value in values.items():
        session.add(
            CheckOutcome(
                booking_id=booking_id, member_id=member_id, patient_id=patient_id, kind=kind,
                value=value, recorded_on=on, source="staff", created_at=now,
            )
        )  # fmt: skip


def check_of(session: Session, booking_id: int) -> Any:
    """(patient id, member id or None, starts at) of one booking."""
    member = select(CampaignMember.id).where(
        CampaignMember.campaign_id == Booking.campaign_id,
        CampaignMember.patient_id == Booking.patient_id,
    )
    return session.execute(
        select(
            Booking.patient_id,
            func.coalesce(Offer.member_id, member.limit(1).scalar_subquery()),
            Slot.starts_at,
        )
        .select_from(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .outerjoin(Offer, Offer.id == Booking.offer_id)
        .where(Booking.id == booking_id)
    ).one_or_none()


def staff_outcomes(session: Session, booking_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """booking id -> what staff recorded for it (kind -> value)."""
    out: dict[int, dict[str, float]] = {}
    rows = session.execute(
        select(CheckOutcome.booking_id, CheckOutcome.kind, CheckOutcome.value).where(
            and_(
                CheckOutcome.booking_id.in_(list(booking_ids)),
                CheckOutcome.source == "staff",
            )
        )
    )
    for booking_id, kind, value in rows:
        if value is not None:
            out.setdefault(booking_id, {})[kind] = value
    return out
