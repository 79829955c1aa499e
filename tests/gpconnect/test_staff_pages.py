"""What staff see of a GP Connect practice: the slot source and last sync, held slots the
practice gave away, GP Connect appointment ids, and cancellations needing attention."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.data.models import Booking, Practice
from app.services import gpconnect, replies
from tests import builders
from tests.builders import STAFF_PASSWORD, act_on_inbound
from tests.gpconnect.conftest import connect_practice, offer_holding, offer_slots
from tests.web.browser import ARTIFACTS, launch

_sids = itertools.count(1)


def _populate(app, fake, clock) -> tuple[int, str]:
    """A synced practice with one booking, one failed cancellation, one given-away hold."""
    db = app.extensions["nudge.db"]
    settings = app.extensions["nudge.settings"]
    fake.add_slots(clock.now().date() + timedelta(days=1), 7, per_day=6)
    gp = connect_practice(db, fake, clock)
    with db.transaction() as session:
        practice = session.get(Practice, gp.practice_id)
        builders.add_user(session, "reception@example.nhs.uk", "practice", [practice])
    gpconnect.sync_practice(db, gp.ods, now=clock.now(), settings=settings)
    mobiles = ["+447700900201", "+447700900202", "+447700900203"]
    offers = [offer_holding(db, gp, clock, mobile=m)[0] for m in mobiles]

    def text(mobile: str, body: str) -> None:
        replies.receive_inbound(
            db,
            message_sid=f"SM{next(_sids):032d}",
            from_number=mobile,
            to_number="+447700900000",
            body=body,
            now=clock.now(),
        )

    text(mobiles[0], "1")
    text(mobiles[1], "1")
    act_on_inbound(app)
    fake.fail_next(1)
    text(mobiles[1], "CHANGE")
    act_on_inbound(app)
    fake.take_slot(offer_slots(db, offers[2])[1].gpconnect_id)
    gpconnect.sync_practice(db, gp.ods, now=clock.now(), settings=settings)
    return gp.practice_id, fake.booked()[0].id


@pytest.mark.browser
def test_staff_see_the_gpconnect_state_of_slots_and_bookings(gp_live_server, fake, clock) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = gp_live_server
    practice_id, appointment_id = _populate(app, fake, clock)
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "reception@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/slots?practice={practice_id}&week={day}")
        source = page.locator("#slot-source").inner_text()
        assert "GP Connect" in source and "Last synced 14 January 2026 at 10:00" in source
        given_away = page.locator("#given-away").inner_text()
        assert "Held slots the practice gave away" in given_away
        assert page.get_by_text("Given away at the practice").count() == 1
        assert page.get_by_text("Upload slots (CSV)").count() == 0
        page.screenshot(path=str(ARTIFACTS / "gpconnect-slots.png"), full_page=False)
        page.goto(f"{base}/bookings?practice={practice_id}&day={day}")
        body = page.locator("main").inner_text()
        assert f"GP Connect appointment {appointment_id}" in body
        attention = page.locator("#needs-attention").inner_text()
        assert "Cancel GP Connect appointment" in attention and "clinical system" in attention
        page.screenshot(path=str(ARTIFACTS / "gpconnect-bookings.png"), full_page=True)
        browser.close()


def test_the_practice_list_shows_each_practices_slot_source(app, client, gp, clock) -> None:
    from tests.web.staff import sign_in

    gpconnect.sync_practice(
        gp.db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    with gp.db.transaction() as session:
        builders.add_practice(session, ods="F84003", name="Park Road Surgery")
        builders.add_user(session, "admin@example.nhs.uk", "admin", [])
    sign_in(client, "admin@example.nhs.uk")
    page = client.get("/admin/practices").get_data(as_text=True)
    assert "GP Connect" in page and "synced 14 Jan 10:00" in page
    assert "Nudge (CSV and patterns)" in page


def test_staff_add_a_note_to_the_appointment_in_the_practices_book(app, client, gp, clock) -> None:
    from tests.web.staff import post, sign_in

    db = app.extensions["nudge.db"]
    gpconnect.sync_practice(db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"])
    offer_holding(db, gp, clock, mobile="+447700900301")
    replies.receive_inbound(
        db,
        message_sid="SMnote0000000000000000000000000001",
        from_number="+447700900301",
        to_number="+447700900000",
        body="1",
        now=clock.now(),
    )
    act_on_inbound(app)
    (appointment,) = gp.fake.booked()
    with db.transaction() as session:
        practice = session.get(Practice, gp.practice_id)
        builders.add_user(session, "nurse@example.nhs.uk", "practice", [practice])
        booking_id = session.scalar(select(Booking.id))
    sign_in(client, "nurse@example.nhs.uk")
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    page = client.get(f"/bookings?practice={gp.practice_id}&day={day}").get_data(as_text=True)
    assert f"GP Connect appointment {appointment.id}" in page and "Save note" in page
    answer = post(
        client, f"/bookings/{booking_id}/note", {"note": "Prefers a female nurse", "day": day}
    )
    assert answer.status_code == 302
    assert appointment.comment == "Prefers a female nurse"


def test_staff_mark_a_cancellation_needing_attention_sorted_out(app, client, gp, clock) -> None:
    from tests.web.staff import post, sign_in

    db = app.extensions["nudge.db"]
    gpconnect.sync_practice(db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"])
    offer_holding(db, gp, clock, mobile="+447700900302")
    for sid, body in (("SMsorted1", "1"), ("SMsorted2", "CHANGE")):
        if body == "CHANGE":
            gp.fake.fail_next(1)
        replies.receive_inbound(
            db,
            message_sid=sid,
            from_number="+447700900302",
            to_number="+447700900000",
            body=body,
            now=clock.now(),
        )
        act_on_inbound(app)
    with db.transaction() as session:
        practice = session.get(Practice, gp.practice_id)
        builders.add_user(session, "nurse@example.nhs.uk", "practice", [practice])
        booking_id = session.scalar(select(Booking.id))
    sign_in(client, "nurse@example.nhs.uk")
    day = (clock.now() + timedelta(days=1)).date().isoformat()
    page = client.get(f"/bookings?practice={gp.practice_id}&day={day}").get_data(as_text=True)
    assert "Needs attention in the clinical system" in page
    assert post(client, f"/bookings/{booking_id}/resolved", {"day": day}).status_code == 302
    page = client.get(f"/bookings?practice={gp.practice_id}&day={day}").get_data(as_text=True)
    assert "Needs attention in the clinical system" not in page
