"""Races on PostgreSQL for GP Connect practices: never booked twice in either system, and
a staff cancellation racing a CHANGE cancels once, in both systems."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from app.data.models import Booking, OfferSlot, Slot
from app.services import diary, gpconnect, replies
from app.services.diary import DiaryError
from tests.builders import act_on_inbound
from tests.gpconnect.conftest import offer_holding, offer_slots
from tests.races import together

pytestmark = pytest.mark.postgres

ROUNDS = 6
_sids = itertools.count(1)


@pytest.fixture
def pg_synced(app, gp, clock, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL's row locks")
    gpconnect.sync_practice(
        gp.db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    return gp


def _text(db, mobile: str, body: str, clock) -> None:
    replies.receive_inbound(
        db,
        message_sid=f"SMrace{next(_sids):028d}",
        from_number=mobile,
        to_number="+447700900000",
        body=body,
        now=clock.now(),
    )


def _job(app):
    return lambda: act_on_inbound(app)


def test_two_residents_choosing_the_same_gp_slot_book_it_once(app, pg_synced, clock) -> None:
    gp = pg_synced
    for round_no in range(ROUNDS):
        first_mobile = f"+4477009003{round_no:02d}"
        second_mobile = f"+4477009004{round_no:02d}"
        first, _ = offer_holding(gp.db, gp, clock, mobile=first_mobile)
        second, _ = offer_holding(gp.db, gp, clock, mobile=second_mobile)
        contested = offer_slots(gp.db, first)[0]
        with gp.db.transaction() as session:
            # the second offer's choice 1 names the first offer's slot (a stale listing)
            row = session.get(OfferSlot, (second, 1))
            row.slot_id = contested.id
        _text(gp.db, first_mobile, "1", clock)
        _text(gp.db, second_mobile, "1", clock)
        results = together(_job(app), _job(app))
        assert not any(isinstance(r, Exception) for r in results), results
        act_on_inbound(app)  # whatever a losing job left pending
        with gp.db.sessions() as session:
            live = session.scalar(
                select(func.count(Booking.id)).where(
                    Booking.slot_id == contested.id, Booking.state != "cancelled"
                )
            )
        in_provider = [a for a in gp.fake.booked() if a.slot_id == contested.gpconnect_id]
        assert (live, len(in_provider)) == (1, 1)
    with gp.db.sessions() as session:
        doubles = session.execute(
            select(Booking.slot_id)
            .where(Booking.state != "cancelled")
            .group_by(Booking.slot_id)
            .having(func.count() > 1)
        ).all()
    assert doubles == []
    slots = [a.slot_id for a in gp.fake.booked()]
    assert len(slots) == len(set(slots))


def test_staff_cancellation_racing_change_cancels_once(app, pg_synced, clock) -> None:
    gp = pg_synced
    settings = app.extensions["nudge.settings"]
    seen = set()
    for round_no in range(ROUNDS):
        mobile = f"+4477009005{round_no:02d}"
        offer_holding(gp.db, gp, clock, mobile=mobile)
        _text(gp.db, mobile, "1", clock)
        act_on_inbound(app)
        with gp.db.sessions() as session:
            booking = session.scalar(
                select(Booking).where(Booking.state == "booked").order_by(Booking.id.desc())
            )
        assert booking is not None and booking.gpconnect_appointment_id
        _text(gp.db, mobile, "CHANGE", clock)

        def staff(slot_id: int = booking.slot_id) -> str:
            try:
                diary.cancel_booked_slot(
                    gp.db, slot_id, now=clock.now(), actor="staff@example.test", settings=settings
                )
            except DiaryError:
                return "refused"
            return "cancelled"

        results = together(staff, _job(app))
        assert not any(isinstance(r, Exception) for r in results), results
        act_on_inbound(app)
        seen.add(results[0])
        appointment = gp.fake.appointments[booking.gpconnect_appointment_id]
        cancels = [
            r
            for r in gp.fake.requests
            if r[0] == "PUT" and r[1] == f"/Appointment/{appointment.id}"
        ]
        assert appointment.status == "cancelled" and len(cancels) == 1
        with gp.db.sessions() as session:
            row = session.get(Booking, booking.id)
            assert row.state == "cancelled" and row.gp_state == "cancelled"
            assert session.get(Slot, booking.slot_id).state in ("free", "cancelled")
    print(f"staff outcomes seen: {sorted(seen)}")
