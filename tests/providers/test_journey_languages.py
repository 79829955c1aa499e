"""The resident's journey in their own language, through each provider's fake and back
through Nudge's signed webhooks: Polish (left to right) and Urdu (right to left)."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, CampaignMember, Message, Patient, PhoneNumber
from app.services.offers import create_offer
from tests.builders import act_on_inbound, add_open_offer
from tests.fakes.providers import FakeProvider
from tests.providers.test_journey import message, send_and_settle

MOBILE = "+447700900002"

# language: (its words for: choice 2, help, stop; and the start of each answer)
JOURNEYS = {
    "pl": {
        "choose": "druga proszę",
        "help": "pomoc",
        "stop": "rezygnuję",
        "invitation": "zaprasza na bezpłatne badanie NHS Health Check",
        "confirmation": "Umówiono: bezpłatne badanie NHS Health Check",
        "reply": "Te SMS-y wysyła",
        "stop_ack": "Nie będziesz już otrzymywać SMS-ów",
    },
    "ur": {
        "choose": "۲",
        "help": "مدد",
        "stop": "بند کریں",
        "invitation": "مفت NHS Health Check کے لیے مدعو کرتا ہے",
        "confirmation": "بک ہو گیا: آپ کا مفت NHS Health Check",
        "reply": "یہ پیغامات",
        "stop_ack": "آپ کو اس NHS Health Check سروس سے مزید پیغامات نہیں ملیں گے",
    },
}


def invite_in(app: Flask, db: Database, clock: FixedClock, language: str) -> int:
    """An offer made by the offer service for a resident who reads `language`."""
    with db.transaction() as session:
        old = add_open_offer(session, mobile=MOBILE, now=clock.now())
        patient = session.get(Patient, old.patient_id)
        assert patient is not None
        patient.language = language
        member = session.get(CampaignMember, old.member_id)
        old.state = "expired"
        session.flush()
        member.state = "waiting"
        offer = create_offer(
            session, member.id, now=clock.now(), settings=app.extensions["nudge.settings"]
        )
        assert offer is not None
        return offer.id


@pytest.mark.parametrize("language", list(JOURNEYS))
def test_invited_booked_helped_and_stopped_in_their_language(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider, language: str
) -> None:
    words = JOURNEYS[language]
    # the drafts, approved for this journey as the demo approves them
    app.extensions["nudge.settings"] = dataclasses.replace(
        app.extensions["nudge.settings"], translations_demo_approved=True
    )
    offer_id = invite_in(app, db, clock, language)
    assert send_and_settle(app, db, clock, fake) == 1
    invitation = message(db, "invitation")
    assert words["invitation"] in invitation.body and invitation.status == "delivered"
    assert fake.create_count(to=MOBILE, body=invitation.body) == 1

    clock.advance(minutes=30)
    assert fake.resident_texts(MOBILE, words["choose"]) == 200
    assert act_on_inbound(app) == 1
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
        slot_two = booking.slot_id
    assert booking.offer_id == offer_id
    assert send_and_settle(app, db, clock, fake) == 1
    confirmation = message(db, "confirmation")
    assert confirmation.body.startswith(words["confirmation"])
    assert fake.create_count(to=MOBILE, body=confirmation.body) == 1

    clock.advance(minutes=5)
    assert fake.resident_texts(MOBILE, words["help"]) == 200
    assert act_on_inbound(app) == 1
    send_and_settle(app, db, clock, fake)
    with db.sessions() as session:
        help_reply = session.scalars(
            select(Message).where(Message.kind == "reply").order_by(Message.id.desc())
        ).first()
    assert help_reply is not None and help_reply.body.startswith(words["reply"])
    assert fake.create_count(to=MOBILE, body=help_reply.body) == 1

    clock.advance(minutes=5)
    assert fake.resident_texts(MOBILE, words["stop"]) == 200
    assert act_on_inbound(app) == 1
    send_and_settle(app, db, clock, fake)
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opted_out_at is not None
        ack = session.scalars(select(Message).where(Message.kind == "stop_ack")).one()
        intents = session.scalars(
            select(Message.intent).where(Message.direction == "in").order_by(Message.id)
        ).all()
        assert session.get(Booking, booking.id).slot_id == slot_two
    assert intents == ["choice", "help", "stop"]
    assert ack.body.startswith(words["stop_ack"])
    assert fake.create_count(to=MOBILE, body=ack.body) == 1
    # invitation, confirmation, help, the STOP acknowledgement
    assert fake.create_count(to=MOBILE) == 4
