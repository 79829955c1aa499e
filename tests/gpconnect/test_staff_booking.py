"""Staff booking a patient into a GP Connect practice's slot (after a phone call, from a
conversation): the appointment is made in the practice's own book before the patient is
told; a time the book no longer has is refused and leaves nothing booked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.data.models import Booking, Message, Practice, Slot
from app.services import follow_up, gpconnect
from tests import builders

MOBILE = "+447700900121"


@pytest.fixture
def ready(app, gp, clock):
    gpconnect.sync_practice(
        gp.db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    with gp.db.transaction() as session:
        practice = session.get(Practice, gp.practice_id)
        patient = builders.add_patient(session, practice, mobile=MOBILE)
        slot = session.scalars(
            select(Slot)
            .where(Slot.practice_id == gp.practice_id, Slot.state == "free")
            .order_by(Slot.starts_at, Slot.id)
        ).first()
        assert slot is not None and slot.gpconnect_id is not None
        gp.fake.add_patient(patient.nhs_number)
        return gp, patient.id, slot.id, slot.gpconnect_id


def _book(app, gp, patient_id: int, slot_id: int, clock) -> int:
    return follow_up.book_for_patient(
        gp.db,
        patient_id=patient_id,
        slot_id=slot_id,
        now=clock.now(),
        actor="reception@example.nhs.uk",
        settings=app.extensions["nudge.settings"],
    )


def _confirmations(db) -> list[str]:
    with db.sessions() as session:
        return list(
            session.scalars(
                select(Message.body).where(
                    Message.to_number == MOBILE, Message.kind == "confirmation"
                )
            )
        )


def test_a_staff_booking_is_made_in_the_practice_book_before_the_patient_is_told(
    app, ready, clock
) -> None:
    gp, patient_id, slot_id, gp_slot_id = ready
    booking_id = _book(app, gp, patient_id, slot_id, clock)
    (appointment,) = gp.fake.booked()
    assert appointment.slot_id == gp_slot_id
    with gp.db.sessions() as session:
        booking = session.get(Booking, booking_id)
        assert booking.state == "booked" and booking.gp_state == "booked"
        assert booking.gpconnect_appointment_id == appointment.id
    assert len(_confirmations(gp.db)) == 1


def test_a_time_the_practice_book_no_longer_has_is_refused_and_nothing_is_booked(
    app, ready, clock
) -> None:
    gp, patient_id, slot_id, gp_slot_id = ready
    gp.fake.take_slot(gp_slot_id)
    with pytest.raises(follow_up.FollowUpError, match="gone in the practice's appointment book"):
        _book(app, gp, patient_id, slot_id, clock)
    assert gp.fake.booked() == []
    with gp.db.sessions() as session:
        (booking,) = session.scalars(select(Booking)).all()
        assert booking.state == "cancelled"
        assert session.get(Slot, slot_id).state == "cancelled"  # never offered again
    assert _confirmations(gp.db) == []
