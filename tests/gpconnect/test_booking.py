"""Booking a resident's choice in the practice's GP Connect book before confirming it;
CHANGE, staff cancellation, amending, and what a later sync reads back."""

from __future__ import annotations

import itertools
import sqlite3

import pytest
from sqlalchemy import select, text

from app.data.models import Booking, Message, Slot
from app.services import diary, gp_booking, gpconnect, replies
from tests.builders import act_on_inbound
from tests.gpconnect.conftest import offer_holding, offer_row, offer_slots, patient_row

MOBILE = "+447700900101"


@pytest.fixture
def synced(app, gp, clock):
    gpconnect.sync_practice(
        gp.db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    return gp


_sids = itertools.count(1)


def _text(db, body: str, clock, mobile: str = MOBILE) -> None:
    replies.receive_inbound(
        db,
        message_sid=f"SM{next(_sids):032d}",
        from_number=mobile,
        to_number="+447700900000",
        body=body,
        now=clock.now(),
    )


def _replies(db, mobile: str = MOBILE) -> list[str]:
    with db.sessions() as session:
        return list(
            session.scalars(
                select(Message.kind + ":" + Message.body)
                .where(Message.direction == "out", Message.to_number == mobile)
                .order_by(Message.id)
            )
        )


def _bookings(db) -> list[Booking]:
    with db.sessions() as session:
        return list(session.scalars(select(Booking).order_by(Booking.id)))


def test_a_choice_is_booked_in_the_provider_before_it_is_confirmed(app, synced, clock) -> None:
    offer_id, nhs = offer_holding(synced.db, synced, clock)
    chosen = offer_slots(synced.db, offer_id)[0]
    _text(synced.db, "1", clock)
    assert act_on_inbound(app) == 1
    (booking,) = _bookings(synced.db)
    (appointment,) = synced.fake.booked()
    assert booking.state == "booked" and booking.slot_id == chosen.id
    assert booking.gpconnect_appointment_id == appointment.id and booking.gp_state == "booked"
    assert appointment.slot_id == chosen.gpconnect_id
    assert "booked by text message through Nudge" in appointment.description
    assert appointment.body["extension"][0]["url"].endswith("BookingOrganisation-1")
    assert _replies(synced.db)[-1].startswith("confirmation:")
    assert patient_row(synced.db, nhs).gpconnect_patient_id == appointment.patient_id
    assert synced.fake.interactions()[-2:] == ["search:patient-1", "create:appointment-1"]
    assert synced.fake.refused == []


def test_a_slot_taken_between_search_and_booking_offers_the_others(app, synced, clock) -> None:
    offer_id, _ = offer_holding(synced.db, synced, clock)
    slots = offer_slots(synced.db, offer_id)
    synced.fake.take_slot(slots[0].gpconnect_id)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    assert _bookings(synced.db) == []
    assert synced.fake.booked() == []
    last = _replies(synced.db)[-1]
    assert "has just gone at the practice" in last and "Reply 2 or 3" in last
    with synced.db.sessions() as session:
        assert session.get(Slot, slots[0].id).state == "cancelled"
    assert offer_row(synced.db, offer_id).state == "open"
    _text(synced.db, "2", clock)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    assert booking.slot_id == slots[1].id
    assert [a.slot_id for a in synced.fake.booked()] == [slots[1].gpconnect_id]


def test_a_held_slot_the_sync_saw_go_is_refused_without_a_call(app, synced, clock) -> None:
    offer_id, _ = offer_holding(synced.db, synced, clock)
    slots = offer_slots(synced.db, offer_id)
    synced.fake.take_slot(slots[2].gpconnect_id)
    gpconnect.sync_practice(
        synced.db, synced.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    calls = len(synced.fake.requests)
    _text(synced.db, "3", clock)
    act_on_inbound(app)
    assert len(synced.fake.requests) == calls
    assert "Reply 1 or 2" in _replies(synced.db)[-1]


def test_a_500_is_retried_and_books_once(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    synced.fake.fail_next(1)  # the patient search
    _text(synced.db, "1", clock)
    act_on_inbound(app)  # the search failed: nothing booked, the text waits
    assert _bookings(synced.db) == []
    clock.advance(seconds=30)
    act_on_inbound(app)
    assert len(_bookings(synced.db)) == 1 and len(synced.fake.booked()) == 1


def test_a_booking_whose_answer_is_lost_is_found_not_made_twice(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    synced.fake.lose_next_answer()
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    assert len(synced.fake.booked()) == 1
    (booking,) = _bookings(synced.db)
    assert booking.gpconnect_appointment_id == synced.fake.booked()[0].id
    assert "search:patient_appointments-1" in synced.fake.interactions()
    assert synced.fake.interactions().count("create:appointment-1") == 1


def test_a_hung_provider_is_retried_after_checking(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    synced.fake.hang_next(seconds=1.5, method="POST")  # past the 1 s timeout
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    assert len(synced.fake.booked()) == 1
    assert len(_bookings(synced.db)) == 1


def test_no_transaction_is_open_during_the_booking_call(app, synced, clock, db_url) -> None:
    offer_holding(synced.db, synced, clock)
    seen: list[object] = []

    def check(_body) -> None:
        if db_url.startswith("sqlite"):
            path = db_url.removeprefix("sqlite:///")
            other = sqlite3.connect(path, timeout=0.05)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails if a writer holds the database
                other.rollback()
                seen.append("free")
            except sqlite3.OperationalError as error:
                seen.append(error)
            finally:
                other.close()
        else:
            with synced.db.sessions() as session:
                idle = session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%' AND pid != pg_backend_pid()"
                    )
                )
            seen.append("free" if idle == 0 else idle)

    synced.fake.on_create = check
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    assert seen == ["free"]
    assert len(_bookings(synced.db)) == 1


def test_change_cancels_in_the_provider_then_releases(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    (appointment,) = synced.fake.booked()
    _text(synced.db, "CHANGE", clock)
    act_on_inbound(app)
    assert appointment.status == "cancelled"
    assert appointment.cancellation_reason == gp_booking.CANCEL_REASON["change"]
    (booking,) = _bookings(synced.db)
    assert booking.state == "cancelled" and booking.gp_state == "cancelled"
    assert "cancel:appointment-1" in synced.fake.interactions()
    # the cancellation is said on its own, or opens the invitation carrying new times
    said = ("reply:Your NHS Health Check on", "invitation:Your NHS Health Check on")
    assert any(r.startswith(said) for r in _replies(synced.db))


def test_a_failed_cancellation_stays_visible_to_staff(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    synced.fake.fail_next(1)  # the read before the PUT
    _text(synced.db, "CHANGE", clock)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    assert booking.state == "cancelled" and booking.gp_state == "cancel_failed"
    assert booking.attention and "clinical system" in booking.attention
    with synced.db.sessions() as session:
        assert session.get(Slot, booking.slot_id).state == "booked"  # not offered again
    assert len(synced.fake.booked()) == 1


def test_staff_cancellation_cancels_in_the_provider(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    diary.cancel_booked_slot(
        synced.db,
        booking.slot_id,
        now=clock.now(),
        actor="staff@example.test",
        settings=app.extensions["nudge.settings"],
    )
    (appointment,) = synced.fake.appointments.values()
    assert appointment.status == "cancelled"
    assert appointment.cancellation_reason == "Cancelled by the practice"
    assert _bookings(synced.db)[0].state == "cancelled"


def test_amend_changes_the_comment_in_the_provider(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    gp_booking.amend_in_provider(
        synced.db,
        booking.id,
        comment="Patient asked for a female nurse",
        now=clock.now(),
        actor="staff@example.test",
        settings=app.extensions["nudge.settings"],
    )
    (appointment,) = synced.fake.booked()
    assert appointment.comment == "Patient asked for a female nurse"
    assert "update:appointment-1" in synced.fake.interactions()


def test_a_later_sync_reads_the_appointments_status(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    offer_holding(synced.db, synced, clock, mobile="+447700900102", skip=3)
    _text(synced.db, "1", clock)
    _text(synced.db, "2", clock, mobile="+447700900102")
    act_on_inbound(app)
    first, second = _bookings(synced.db)
    synced.fake.cancel_at_practice(first.gpconnect_appointment_id)
    synced.fake.set_status(second.gpconnect_appointment_id, "noshow")
    report = gpconnect.sync_practice(
        synced.db, synced.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    assert (report.cancelled_at_practice, report.patients_told, report.outcomes) == (1, 1, 1)
    # the resident is told at once, in words, not left to find out at the door
    told = [r for r in _replies(synced.db) if "has had to cancel your NHS Health Check" in r]
    assert len(told) == 1
    first, second = _bookings(synced.db)
    assert first.state == "cancelled" and "practice's appointment book" in first.attention
    assert second.state == "did_not_attend"
    with synced.db.sessions() as session:
        assert session.get(Slot, first.slot_id).state == "free"  # free again at the practice


def test_after_a_sync_a_booking_is_one_round_trip(app, synced, clock) -> None:
    _, nhs = offer_holding(synced.db, synced, clock)
    report = gpconnect.sync_practice(
        synced.db, synced.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    assert report.patients_found == 1
    assert patient_row(synced.db, nhs).gpconnect_patient_id == synced.fake.patients[nhs]
    before = len(synced.fake.requests)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    assert synced.fake.interactions()[before:] == ["create:appointment-1"]
    assert len(_bookings(synced.db)) == 1


def test_an_offer_expiring_after_the_practice_booked_it_is_still_confirmed(
    app, synced, clock
) -> None:
    offer_id, _ = offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    gp_booking.carry_pending(synced.db, now=clock.now(), settings=app.extensions["nudge.settings"])
    assert offer_row(synced.db, offer_id).gp_state == "booked"
    clock.advance(hours=49)  # past the offer's expiry before the text is acted on
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    assert booking.gpconnect_appointment_id == synced.fake.booked()[0].id
    assert _replies(synced.db)[-1].startswith("confirmation:")


def test_a_provider_that_never_answers_is_given_up_on_and_flagged(app, synced, clock) -> None:
    from app.data.models import Conversation

    offer_id, _ = offer_holding(synced.db, synced, clock)
    synced.fake.fail_next(100)
    _text(synced.db, "1", clock)
    for _ in range(7):
        act_on_inbound(app)
        assert _bookings(synced.db) == []
        clock.advance(seconds=61)
    assert "could not book that time" in _replies(synced.db)[-1]
    assert synced.fake.booked() == []
    with synced.db.sessions() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation.flag_reason == "gpconnect_booking_failed"
    assert offer_row(synced.db, offer_id).gp_state is None


def test_an_offer_being_booked_in_the_provider_is_not_expired_under_it(app, synced, clock) -> None:
    from app.services.offers import expire_offers

    offer_id, _ = offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    gp_booking.carry_pending(synced.db, now=clock.now(), settings=app.extensions["nudge.settings"])
    clock.advance(hours=49)
    assert expire_offers(synced.db, now=clock.now()) == 0
    act_on_inbound(app)
    assert len(_bookings(synced.db)) == 1
    assert offer_row(synced.db, offer_id).state == "booked"


def test_a_cancellation_whose_worker_died_is_taken_up_again(app, synced, clock) -> None:
    offer_holding(synced.db, synced, clock)
    _text(synced.db, "1", clock)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    (appointment,) = synced.fake.booked()
    synced.fake.cancel_at_practice(appointment.id)  # the dead worker's PUT got through
    with synced.db.transaction() as session:
        row = session.get(Booking, booking.id)
        row.gp_state, row.gp_changed_at = "cancelling", clock.now()
    _text(synced.db, "CHANGE", clock)
    act_on_inbound(app)
    assert _bookings(synced.db)[0].state == "booked"  # waits while the claim is fresh
    clock.advance(minutes=2)
    act_on_inbound(app)
    (booking,) = _bookings(synced.db)
    assert booking.state == "cancelled" and booking.gp_state == "cancelled"
    puts = [r for r in synced.fake.requests if r[0] == "PUT"]
    assert puts == []  # found already cancelled: nothing sent twice


def test_stop_is_acted_on_at_once_while_a_choice_waits_for_the_provider(app, synced, clock) -> None:
    from app.data.models import Offer, PhoneNumber

    offer_id, _ = offer_holding(synced.db, synced, clock)
    slots = offer_slots(synced.db, offer_id)
    with synced.db.transaction() as session:  # another worker is booking the choice now
        offer = session.get(Offer, offer_id)
        offer.gp_state, offer.gp_slot_id, offer.gp_started_at = "pending", slots[0].id, clock.now()
    _text(synced.db, "1", clock)
    _text(synced.db, "STOP", clock)
    assert act_on_inbound(app) == 1  # the STOP; the choice still waits for the provider
    with synced.db.sessions() as session:
        assert session.get(PhoneNumber, MOBILE).opted_out_at is not None
        pending = session.scalars(
            select(Message.body).where(Message.direction == "in", Message.processed_at.is_(None))
        ).all()
    assert pending == ["1"]
