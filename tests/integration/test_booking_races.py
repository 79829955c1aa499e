"""Never double-booked under any interleaving: each race run many times on PostgreSQL.

Real threads start together at a barrier; the outcome is checked by query afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.data.db import Database
from app.data.models import Booking, Message, Offer, Patient, Slot
from app.services import booking as booking_service
from app.services.offers import expire_offers
from app.settings import Settings
from tests.builders import add_open_offer, add_patient, handle_inbound
from tests.races import together

pytestmark = pytest.mark.postgres

ROUNDS = 25
NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
SETTINGS = Settings.from_config(
    {"PUBLIC_BASE_URL": "https://nudge.example.test", "SMS_FROM_NUMBER": "+447700900000"}
)


@pytest.fixture
def pg_db(pg_url: str):
    database = Database.from_url(pg_url, pool_size=6)
    yield database
    database.dispose()


def reply(db: Database, number: str, body: str, sid: str, now: datetime = NOW):
    return lambda: handle_inbound(
        db,
        message_sid=sid,
        from_number=number,
        to_number="+447700900000",
        body=body,
        now=now,
        settings=SETTINGS,
    )


def new_offer(db: Database, round_no: int, **kw: Any) -> tuple[int, str]:
    number = f"+4477009001{round_no:02d}"
    with db.transaction() as session:
        offer = add_open_offer(session, mobile=number, now=NOW, **kw)
        return offer.id, number


def assert_never_double_booked(db: Database) -> None:
    """The invariants, by query over the whole database."""
    live = Booking.state != "cancelled"
    with db.sessions() as session:
        per_slot = session.execute(
            select(Booking.slot_id).where(live).group_by(Booking.slot_id).having(func.count() > 1)
        ).all()
        per_offer = session.execute(
            select(Booking.offer_id)
            .where(live, Booking.offer_id.is_not(None))
            .group_by(Booking.offer_id)
            .having(func.count() > 1)
        ).all()
        booked_without_booking = session.scalars(
            select(Slot.id).where(
                Slot.state == "booked",
                ~select(Booking.id).where(Booking.slot_id == Slot.id, live).exists(),
            )
        ).all()
        booking_on_unbooked_slot = session.scalars(
            select(Booking.id)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(live, Slot.state != "booked")
        ).all()
        held_by_closed_offer = session.scalars(
            select(Slot.id)
            .join(Offer, Offer.id == Slot.held_by_offer_id)
            .where(Offer.state != "open")
        ).all()
        booked_offer_without_booking = session.scalars(
            select(Offer.id).where(
                Offer.state == "booked",
                ~select(Booking.id).where(Booking.offer_id == Offer.id).exists(),
            )
        ).all()
    assert per_slot == [] and per_offer == []
    assert booked_without_booking == [] and booking_on_unbooked_slot == []
    assert held_by_closed_offer == [] and booked_offer_without_booking == []


def live_bookings(db: Database, offer_id: int) -> int:
    with db.sessions() as session:
        return (
            session.scalar(
                select(func.count(Booking.id)).where(
                    Booking.offer_id == offer_id, Booking.state != "cancelled"
                )
            )
            or 0
        )


def test_two_different_choices_at_once_from_one_patient_book_exactly_one(pg_db):
    for round_no in range(ROUNDS):
        offer_id, number = new_offer(pg_db, round_no)
        results = together(
            reply(pg_db, number, "1", f"SMa{round_no}"),
            reply(pg_db, number, "2", f"SMb{round_no}"),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        assert sorted(r.action for r in results) == ["already_booked", "booked"]
        assert live_bookings(pg_db, offer_id) == 1
    assert_never_double_booked(pg_db)


def test_a_duplicated_webhook_at_once_acts_once(pg_db):
    for round_no in range(ROUNDS):
        offer_id, number = new_offer(pg_db, round_no)
        sid = f"SMdup{round_no}"
        results = together(reply(pg_db, number, "2", sid), reply(pg_db, number, "2", sid))
        assert not any(isinstance(r, Exception) for r in results), results
        assert sorted(r.duplicate for r in results) == [False, True]
        assert live_bookings(pg_db, offer_id) == 1
        with pg_db.sessions() as session:
            inbound = session.scalar(
                select(func.count(Message.id)).where(Message.provider_sid == sid)
            )
            confirmations = session.scalar(
                select(func.count(Message.id)).where(
                    Message.kind == "confirmation", Message.to_number == number
                )
            )
        assert (inbound, confirmations) == (1, 1)
    assert_never_double_booked(pg_db)


def test_change_racing_a_booking_never_leaves_two_live_bookings(pg_db):
    outcomes = set()
    for round_no in range(ROUNDS):
        offer_id, number = new_offer(pg_db, round_no)
        results = together(
            reply(pg_db, number, "2", f"SMbook{round_no}"),
            reply(pg_db, number, "CHANGE", f"SMchange{round_no}"),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        outcomes.add(tuple(r.action for r in results))
        assert live_bookings(pg_db, offer_id) <= 1
    print(f"booking vs CHANGE outcomes seen: {sorted(outcomes)}")
    assert_never_double_booked(pg_db)
    # both orders are legal: booked then changed, or CHANGE (nothing to change) then booked
    assert outcomes <= {
        ("booked", "changed_new_offer"),
        ("booked", "changed"),
        ("booked", "unclear"),
    }


def test_change_racing_a_staff_booking_of_the_same_slot_books_it_once(pg_db):
    for round_no in range(ROUNDS):
        offer_id, number = new_offer(pg_db, round_no)
        first = reply(pg_db, number, "1", f"SMfirst{round_no}")()
        assert first.action == "booked"
        with pg_db.transaction() as session:
            booking = session.get(Booking, first.booking_id)
            assert booking is not None
            slot_id = booking.slot_id
            other = add_patient(
                session,
                session.get(Patient, booking.patient_id).practice,
                mobile=f"+4477009002{round_no:02d}",
            ).id

        def staff(other: int = other, slot_id: int = slot_id) -> Any:
            with pg_db.transaction() as session:
                return booking_service.staff_book(
                    session, other, slot_id, now=NOW, by="reception@test", settings=SETTINGS
                )

        results = together(reply(pg_db, number, "CHANGE", f"SMchg{round_no}"), staff)
        assert not isinstance(results[0], Exception), results
        assert results[1] is not None
        if isinstance(results[1], Exception):
            assert isinstance(results[1], booking_service.SlotUnavailable), results
        with pg_db.sessions() as session:
            live_on_slot = session.scalar(
                select(func.count(Booking.id)).where(
                    Booking.slot_id == slot_id, Booking.state != "cancelled"
                )
            )
        assert live_on_slot <= 1
    assert_never_double_booked(pg_db)


def test_a_booking_racing_expiry_either_books_or_expires_never_both(pg_db):
    seen = set()
    for round_no in range(ROUNDS):
        offer_id, number = new_offer(pg_db, round_no, expires_in_hours=1)
        expiry = NOW + timedelta(hours=1)
        results = together(
            # the reply arrives a second before expiry, the expiry job runs a second after
            reply(pg_db, number, "3", f"SMexp{round_no}", now=expiry - timedelta(seconds=1)),
            lambda at=expiry + timedelta(seconds=1): expire_offers(pg_db, now=at),
            jitter=0.03,
        )
        assert not any(isinstance(r, Exception) for r in results), results
        with pg_db.sessions() as session:
            state = session.scalar(select(Offer.state).where(Offer.id == offer_id))
            held = session.scalar(
                select(func.count(Slot.id)).where(Slot.held_by_offer_id == offer_id)
            )
        bookings = live_bookings(pg_db, offer_id)
        seen.add(state)
        assert held == 0
        if state == "booked":
            assert bookings == 1 and results[0].action == "booked"
        else:
            assert state == "expired" and bookings == 0
            assert results[0].action.startswith("times_gone")
    assert_never_double_booked(pg_db)
    assert seen <= {"booked", "expired"}
    print(f"booking vs expiry outcomes seen: {sorted(seen)}")
