"""The resident's whole journey for a practice on GP Connect, beside the same journey for
a practice whose slots come from a CSV file: invitation, reply, booking (in the fake GP
Connect provider too), confirmation, CHANGE (cancelled in the provider), new times, all
through the SMS provider's fake and Nudge's signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, CampaignMember, Message, Offer, Practice, Slot
from app.services import gpconnect, slots
from app.services.offers import create_offer
from tests import builders
from tests.builders import act_on_inbound
from tests.conftest import make_test_config
from tests.fakes.gpconnect_server import PROVIDER_ASID, FakeGpConnect
from tests.fakes.providers import FakeProvider
from tests.gpconnect.conftest import SETTINGS
from tests.providers.test_journey import send_and_settle

GP_MOBILE = "+447700900601"
CSV_MOBILE = "+447700900602"


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(make_test_config(db_url, tmp_path, **SETTINGS), clock=clock)
    yield application
    application.extensions["nudge.db"].dispose()


@pytest.fixture
def gp_fake(clock: FixedClock) -> Iterator[FakeGpConnect]:
    with FakeGpConnect(ods="A20047") as provider:
        provider.add_slots(clock.now().date() + timedelta(days=1), 10, per_day=4)
        yield provider


def _practices(app: Flask, db: Database, clock: FixedClock, gp_fake: FakeGpConnect) -> None:
    with db.transaction() as session:
        builders.add_practice(session, ods="A20047", name="Bow Practice")
        builders.add_practice(session, ods="F84003", name="Park Road Surgery")
    gpconnect.set_slot_source(
        db,
        "A20047",
        source="gpconnect",
        url=gp_fake.base_url,
        provider_asid=PROVIDER_ASID,
        user_id="G13579135",
        user_name="Jane Smith",
        now=clock.now(),
    )
    gpconnect.sync_practice(
        db, "A20047", now=clock.now(), settings=app.extensions["nudge.settings"]
    )
    days = [clock.now().date() + timedelta(days=d) for d in range(1, 8)]
    csv = "date,start,duration_minutes,location\n" + "".join(
        f"{day.isoformat()},{hour:02d}:00,20,Room 1\n" for day in days for hour in (9, 11)
    )
    slots.import_slots(db, csv, now=clock.now(), ods_code="F84003", actor="test")


def _invite(app: Flask, db: Database, clock: FixedClock, ods: str, mobile: str) -> int:
    with db.transaction() as session:
        practice = session.scalars(select(Practice).where(Practice.ods_code == ods)).one()
        patient = builders.add_patient(session, practice, mobile=mobile)
        old = builders.add_open_offer(
            session,
            mobile=mobile,
            practice=practice,
            patient=patient,
            slot_count=0,
            spare_slots=0,
            now=clock.now(),
        )
        old.state = "expired"
        session.flush()
        member = session.get(CampaignMember, old.member_id)
        member.state = "waiting"
        offer = create_offer(
            session, member.id, now=clock.now(), settings=app.extensions["nudge.settings"]
        )
        assert offer is not None
        return offer.id


def _outbound(db: Database, mobile: str) -> list[str]:
    with db.sessions() as session:
        return list(
            session.scalars(
                select(Message.kind)
                .where(Message.direction == "out", Message.to_number == mobile)
                .order_by(Message.id)
            )
        )


def test_the_journey_for_a_gpconnect_practice_beside_a_csv_practice(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider, gp_fake: FakeGpConnect
) -> None:
    _practices(app, db, clock, gp_fake)
    offers = {
        "gp": _invite(app, db, clock, "A20047", GP_MOBILE),
        "csv": _invite(app, db, clock, "F84003", CSV_MOBILE),
    }
    with db.sessions() as session:
        patient = session.get(Offer, offers["gp"]).patient_id
        gp_fake.add_patient(session.get(builders.Patient, patient).nhs_number)
    assert send_and_settle(app, db, clock, fake) == 2

    clock.advance(minutes=20)
    assert fake.resident_texts(GP_MOBILE, "2") == 200
    assert fake.resident_texts(CSV_MOBILE, "2") == 200
    assert act_on_inbound(app) == 2
    with db.sessions() as session:
        bookings = {b.offer_id: b for b in session.scalars(select(Booking))}
        gp_booking, csv_booking = bookings[offers["gp"]], bookings[offers["csv"]]
        gp_slot = session.get(Slot, gp_booking.slot_id)
        csv_slot = session.get(Slot, csv_booking.slot_id)
    (appointment,) = gp_fake.booked()
    assert gp_booking.gpconnect_appointment_id == appointment.id
    assert appointment.slot_id == gp_slot.gpconnect_id
    assert csv_booking.gpconnect_appointment_id is None and csv_slot.gpconnect_id is None
    assert send_and_settle(app, db, clock, fake) == 2
    for mobile in (GP_MOBILE, CSV_MOBILE):
        assert _outbound(db, mobile) == ["invitation", "confirmation"]

    clock.advance(minutes=20)
    assert fake.resident_texts(GP_MOBILE, "CHANGE") == 200
    assert fake.resident_texts(CSV_MOBILE, "CHANGE") == 200
    assert act_on_inbound(app) == 2
    assert appointment.status == "cancelled" and appointment.cancellation_reason
    with db.sessions() as session:
        for booking in (gp_booking, csv_booking):
            assert session.get(Booking, booking.id).state == "cancelled"
        assert session.get(Booking, gp_booking.id).gp_state == "cancelled"
        answers = session.scalars(
            select(Message.body).where(Message.kind == "reply", Message.direction == "out")
        ).all()
    assert len(answers) == 2 and all("is cancelled" in a for a in answers)
    send_and_settle(app, db, clock, fake)
    for mobile in (GP_MOBILE, CSV_MOBILE):
        assert _outbound(db, mobile)[2] == "reply"
    assert gp_fake.refused == []
