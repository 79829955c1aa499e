"""The booking's calendar file: valid RFC 5545, parsed back with icalendar; 404 otherwise."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from sqlalchemy import select

from app.data.models import Booking, Slot
from app.services.booking import book_choice, cancel_booking
from tests.builders import add_open_offer


def a_booking(db, clock) -> tuple[str, int]:
    with db.transaction() as session:
        offer = add_open_offer(session, now=clock.now())
        result = book_choice(session, offer.id, 1, now=clock.now())
        booking = session.get(Booking, result.booking_id)
        assert booking is not None
        return booking.calendar_token, booking.id


def test_the_calendar_file_parses_back_with_time_place_and_a_reminder(client, db, clock):
    token, booking_id = a_booking(db, clock)
    response = client.get(f"/c/{token}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    [event] = calendar.walk("VEVENT")
    with db.sessions() as session:
        booking = session.get(Booking, booking_id)
        slot = session.scalar(select(Slot).where(Slot.id == booking.slot_id))
    assert event.decoded("dtstart") == slot.starts_at
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=30)
    assert event.decoded("dtstart").utcoffset() == timedelta(0)  # UTC, never floating
    assert event.decoded("dtstamp") == clock.now()
    assert "1 Test Street, London E1 1AA" in str(event["LOCATION"])
    assert "Test Medical Centre" in str(event["SUMMARY"])
    assert str(event["UID"]).endswith("@nudge") and token not in str(event["UID"])
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("trigger") == -timedelta(hours=2)


def test_the_uid_is_stable_across_downloads(client, db, clock):
    token, _ = a_booking(db, clock)
    first = icalendar.Calendar.from_ical(client.get(f"/c/{token}.ics").data)
    again = icalendar.Calendar.from_ical(client.get(f"/c/{token}.ics").data)
    assert first.walk("VEVENT")[0]["UID"] == again.walk("VEVENT")[0]["UID"]


def test_an_unknown_token_is_not_found(client, db, clock):
    a_booking(db, clock)
    assert client.get("/c/not-a-real-token.ics").status_code == 404
    assert client.get("/c/" + "x" * 200 + ".ics").status_code == 404


def test_a_cancelled_booking_has_no_calendar_file(client, db, clock):
    token, booking_id = a_booking(db, clock)
    with db.transaction() as session:
        assert cancel_booking(session, booking_id, now=clock.now(), reason="test")
    assert client.get(f"/c/{token}.ics").status_code == 404


def test_each_booking_gets_its_own_random_token(db, clock):
    first, _ = a_booking(db, clock)
    second, _ = a_booking(db, clock)
    assert len(first) == len(second) == 32  # 24 random bytes, base64url
    assert first != second
