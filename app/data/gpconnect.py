"""GP Connect's rows: practices on it, their slots by provider id, the choices and
cancellations to carry to the provider, and what came back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from app.data.models import Booking, Message, Offer, OfferSlot, Patient, Practice, Slot

GPCONNECT = "gpconnect"


def gpconnect_practices(session: Session) -> list[str]:
    """ODS codes of the practices whose slots come from GP Connect."""
    return list(
        session.scalars(
            select(Practice.ods_code)
            .where(Practice.slot_source == GPCONNECT)
            .order_by(Practice.ods_code)
        )
    )


def slot_source_of_patient(session: Session, patient_id: int) -> str | None:
    return session.scalar(
        select(Practice.slot_source)
        .join(Patient, Patient.practice_id == Practice.id)
        .where(Patient.id == patient_id)
    )


def slots_by_gpconnect_id(
    session: Session, practice_id: int, lo: datetime, hi: datetime
) -> dict[str, Row[int, str, datetime | None, int | None]]:
    """The practice's GP Connect slots starting in [lo, hi): id, state, gone_at, held by."""
    rows = session.execute(
        select(Slot.gpconnect_id, Slot.id, Slot.state, Slot.gone_at, Slot.held_by_offer_id).where(
            Slot.practice_id == practice_id,
            Slot.gpconnect_id.is_not(None),
            Slot.starts_at >= lo,
            Slot.starts_at < hi,
        )
    ).all()
    return {str(r[0]): r[1:] for r in rows}  # type: ignore[misc]


def taken_places(session: Session, practice_id: int, lo: datetime, hi: datetime) -> set[Any]:
    """(location, starts_at) pairs already used by any slot of the practice in [lo, hi)."""
    rows = session.execute(
        select(Slot.location, Slot.starts_at).where(
            Slot.practice_id == practice_id, Slot.starts_at >= lo, Slot.starts_at < hi
        )
    ).all()
    return {(location, starts_at) for location, starts_at in rows}


def insert_slots(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Slot), list(rows))


def set_state(session: Session, slot_ids: Iterable[int], *, frm: str, to: str) -> int:
    ids = list(slot_ids)
    if not ids:
        return 0
    return int(
        session.execute(
            update(Slot)
            .where(Slot.id.in_(ids), Slot.state == frm)
            .values(state=to, gone_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def free_if_unbooked(session: Session, slot_ids: Iterable[int]) -> int:
    """Booked slots with no live booking (cancelled here or at the practice) -> free."""
    ids = list(slot_ids)
    if not ids:
        return 0
    live = select(Booking.id).where(Booking.slot_id == Slot.id, Booking.state != "cancelled")
    return int(
        session.execute(
            update(Slot)
            .where(Slot.id.in_(ids), Slot.state == "booked", ~live.exists())
            .values(state="free")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def mark_gone(session: Session, slot_ids: Iterable[int], *, now: datetime) -> int:
    """Held slots the practice gave away: stamped once, for staff and the resident."""
    ids = list(slot_ids)
    if not ids:
        return 0
    return int(
        session.execute(
            update(Slot)
            .where(Slot.id.in_(ids), Slot.state == "held", Slot.gone_at.is_(None))
            .values(gone_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def clear_gone(session: Session, slot_ids: Iterable[int]) -> None:
    ids = list(slot_ids)
    if ids:
        session.execute(
            update(Slot)
            .where(Slot.id.in_(ids), Slot.gone_at.is_not(None))
            .values(gone_at=None)
            .execution_options(synchronize_session=False)
        )


def retire_own_free_slots(session: Session, practice_id: int, *, after: datetime) -> int:
    """Nudge's own free future slots leave use when the practice moves to GP Connect."""
    return int(
        session.execute(
            update(Slot)
            .where(
                Slot.practice_id == practice_id,
                Slot.gpconnect_id.is_(None),
                Slot.state == "free",
                Slot.starts_at > after,
            )
            .values(state="cancelled")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def gone_held_slots(
    session: Session, practice_id: int
) -> list[Row[int, datetime, str, datetime | None]]:
    """Held slots the practice gave away while an offer held them (for staff)."""
    return list(
        session.execute(
            select(Slot.id, Slot.starts_at, Slot.location, Slot.gone_at)
            .where(
                Slot.practice_id == practice_id,
                Slot.state == "held",
                Slot.gone_at.is_not(None),
            )
            .order_by(Slot.starts_at)
        ).all()
    )


# -- choices to book in the provider -------------------------------------------------------


@dataclass(frozen=True)
class PendingChoice:
    message_body: str
    offer_id: int
    from_number: str


def pending_choices(session: Session, *, now: datetime, limit: int) -> list[PendingChoice]:
    """The earliest unprocessed choice text of each number with an open offer at a GP
    Connect practice (the replies job acts on texts in order, so only the first counts)."""
    rows = session.execute(
        select(Message.from_number, Message.body, Offer.id)
        .join(Offer, and_(Offer.mobile == Message.from_number, Offer.state == "open"))
        .join(Patient, Patient.id == Offer.patient_id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            Message.direction == "in",
            Message.processed_at.is_(None),
            Practice.slot_source == GPCONNECT,
            Offer.expires_at > now,
        )
        .order_by(Message.id)
        .limit(limit * 4)
    ).all()
    firsts: dict[str, PendingChoice] = {}
    for number, body, offer_id in rows:
        firsts.setdefault(str(number), PendingChoice(str(body), int(offer_id), str(number)))
    return list(firsts.values())[:limit]


def not_being_booked() -> ColumnElement[bool]:
    """Offers with no choice under way in a GP Connect provider: one that is (pending,
    booked there, or unknown) is settled by the replies job, never expired under it."""
    return or_(Offer.gp_state.is_(None), Offer.gp_state.in_(("refused", "failed")))


def expirable(now: datetime) -> ColumnElement[bool]:
    """Open offers past their expiry and not being booked in a provider."""
    return and_(Offer.expires_at <= now, not_being_booked())


def held_choice(session: Session, offer_id: int, position: int) -> Slot | None:
    """The slot at `position` of the offer if the offer still holds it."""
    return session.scalar(
        select(Slot)
        .join(OfferSlot, OfferSlot.slot_id == Slot.id)
        .where(
            OfferSlot.offer_id == offer_id,
            OfferSlot.position == position,
            Slot.state == "held",
            Slot.held_by_offer_id == offer_id,
        )
    )


def claim_choice(
    session: Session, offer_id: int, slot_id: int, *, now: datetime, retry_before: datetime
) -> str | None:
    """Offer's GP Connect booking -> `pending` for this slot; the state it left (None for
    a first attempt, `pending`/`unknown` for a retry of one whose answer never came), or
    "no" when another worker has it or it is settled."""
    before = session.scalar(select(Offer.gp_state).where(Offer.id == offer_id))
    changed = session.execute(
        update(Offer)
        .where(
            Offer.id == offer_id,
            Offer.state == "open",
            or_(
                Offer.gp_state.is_(None),
                and_(
                    Offer.gp_state.in_(("pending", "unknown")),
                    Offer.gp_slot_id == slot_id,
                    Offer.gp_started_at < retry_before,
                ),
            ),
        )
        .values(
            gp_state="pending",
            gp_slot_id=slot_id,
            gp_started_at=now if before is None else Offer.gp_started_at,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        return "no"
    return before


def settle_choice(
    session: Session, offer_id: int, *, state: str, appointment_id: str | None
) -> None:
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.gp_state == "pending")
        .values(gp_state=state, gp_appointment_id=appointment_id)
        .execution_options(synchronize_session=False)
    )


def reset_choice(session: Session, offer_id: int) -> None:
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id)
        .values(gp_state=None, gp_slot_id=None, gp_appointment_id=None, gp_started_at=None)
        .execution_options(synchronize_session=False)
    )


def take_out_of_use(session: Session, slot_id: int) -> None:
    """A held slot the practice gave away: no longer held, never offered again."""
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state == "held")
        .values(state="cancelled", held_by_offer_id=None)
        .execution_options(synchronize_session=False)
    )


def take_out_of_use_booked(session: Session, slot_id: int) -> None:
    """A slot Nudge booked that the practice's book refused: never offered again."""
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.state.in_(("booked", "free")))
        .values(state="cancelled", held_by_offer_id=None)
        .execution_options(synchronize_session=False)
    )


def remember_patient(session: Session, patient_id: int, logical_id: str) -> None:
    session.execute(
        update(Patient).where(Patient.id == patient_id).values(gpconnect_patient_id=logical_id)
    )


# -- cancellations to carry to the provider ---------------------------------------------------


def numbers_changing(session: Session, *, now: datetime, limit: int) -> list[str]:
    """Numbers whose earliest unprocessed text is a CHANGE and who have a live GP Connect
    booking still in the provider's book."""
    rows = session.execute(
        select(Message.from_number, Message.intent)
        .where(
            Message.direction == "in",
            Message.processed_at.is_(None),
            select(Booking.id)
            .join(Patient, Patient.id == Booking.patient_id)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                Patient.mobile == Message.from_number,
                Booking.state == "booked",
                Booking.gp_state.in_(("booked", "cancelling")),
                Slot.starts_at > now,
            )
            .exists(),
        )
        .order_by(Message.id)
        .limit(limit * 4)
    ).all()
    firsts: dict[str, str | None] = {}
    for number, intent in rows:
        firsts.setdefault(str(number), intent)
    return [number for number, intent in firsts.items() if intent == "change"][:limit]


def claim_cancellation(session: Session, booking_id: int, *, now: datetime) -> str | None:
    """Booking's GP Connect state `booked` (or `cancelling` for over a minute: a worker
    died mid-call) -> `cancelling`; its appointment id, or None when it is not there to
    cancel (another cancellation has it, or it is not in a GP Connect book)."""
    return session.scalar(
        update(Booking)
        .where(
            Booking.id == booking_id,
            Booking.state == "booked",
            Booking.gpconnect_appointment_id.is_not(None),
            or_(
                Booking.gp_state == "booked",
                and_(
                    Booking.gp_state == "cancelling",
                    Booking.gp_changed_at < now - timedelta(minutes=1),
                ),
            ),
        )
        .values(gp_state="cancelling", gp_changed_at=now)
        .returning(Booking.gpconnect_appointment_id)
        .execution_options(synchronize_session=False)
    )


def settle_cancellation(
    session: Session, booking_id: int, *, state: str, attention: str | None, now: datetime
) -> None:
    values: dict[str, Any] = {"gp_state": state, "gp_changed_at": now}
    if attention is not None:
        values.update(attention=attention[:300], attention_at=now)
    session.execute(
        update(Booking)
        .where(Booking.id == booking_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def attach_appointment(
    session: Session, booking_id: int, appointment_id: str, *, now: datetime
) -> None:
    session.execute(
        update(Booking)
        .where(Booking.id == booking_id)
        .values(gpconnect_appointment_id=appointment_id, gp_state="booked", gp_changed_at=now)
        .execution_options(synchronize_session=False)
    )


def live_appointments(
    session: Session, practice_id: int, lo: datetime, hi: datetime
) -> list[Row[int, str | None, str]]:
    """(booking id, appointment id, Nudge state) of the practice's GP Connect bookings
    starting in [lo, hi) whose state the provider may have changed."""
    return list(
        session.execute(
            select(Booking.id, Booking.gpconnect_appointment_id, Booking.state)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                Slot.practice_id == practice_id,
                Booking.gp_state == "booked",
                Booking.state == "booked",
                Slot.starts_at >= lo,
                Slot.starts_at < hi,
            )
        ).all()
    )


def unresolved_patients(session: Session, practice_id: int, limit: int) -> list[Row[int, str]]:
    """Patients with an open offer whose provider id is not known yet."""
    return list(
        session.execute(
            select(Patient.id, Patient.nhs_number)
            .join(Offer, and_(Offer.patient_id == Patient.id, Offer.state == "open"))
            .where(Patient.practice_id == practice_id, Patient.gpconnect_patient_id.is_(None))
            .distinct()
            .limit(limit)
        ).all()
    )
