"""The resident's journey through each provider: the real client, the provider's fake,
and back through Nudge's webhooks exactly as the provider calls them."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, CampaignMember, Message, Offer, PhoneNumber, Slot
from app.services.dispatch import dispatch_due
from app.services.offers import create_offer
from app.services.reconciliation import reconcile_early_callbacks
from app.settings import Settings
from app.sms import provider_from_config
from tests.builders import act_on_inbound, add_open_offer, queue_outbound
from tests.fakes.providers import PUBLIC_BASE_URL, FakeProvider, fake_provider, poster_for

MOBILE = "+447700900001"


def invite(app: Flask, db: Database, clock: FixedClock) -> int:
    """An offer made by the offer service, its invitation queued; the offer's id."""
    with db.transaction() as session:
        old = add_open_offer(session, mobile=MOBILE, now=clock.now())
        member = session.get(CampaignMember, old.member_id)
        old.state = "expired"
        session.flush()
        member.state = "waiting"
        offer = create_offer(
            session, member.id, now=clock.now(), settings=Settings.from_config(app.config)
        )
        assert offer is not None
        return offer.id


def send_and_settle(app: Flask, db: Database, clock: FixedClock, fake: FakeProvider) -> int:
    provider = provider_from_config(app.config)
    report = dispatch_due(db, provider, now=clock.now())
    fake.wait_for_callbacks(timeout=30)
    reconcile_early_callbacks(db, now=clock.now())
    return report.sent


def message(db: Database, kind: str) -> Message:
    with db.sessions() as session:
        return session.scalars(select(Message).where(Message.kind == kind)).one()


def test_invited_booked_confirmed_and_stopped_through_the_provider(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    offer_id = invite(app, db, clock)
    assert send_and_settle(app, db, clock, fake) == 1
    invitation = message(db, "invitation")
    assert invitation.status == "delivered"
    assert fake.create_count(to=MOBILE, body=invitation.body) == 1

    clock.advance(minutes=30)
    assert fake.resident_texts(MOBILE, "2") == 200
    assert act_on_inbound(app) == 1
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
    assert booking.offer_id == offer_id
    assert send_and_settle(app, db, clock, fake) == 1
    confirmation = message(db, "confirmation")
    link = f"{PUBLIC_BASE_URL}/c/{booking.calendar_token}.ics"
    assert link in confirmation.body and confirmation.status == "delivered"
    assert fake.create_count(to=MOBILE, body=confirmation.body) == 1
    ics = app.test_client().get(link.removeprefix(PUBLIC_BASE_URL))
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"

    clock.advance(minutes=5)
    assert fake.resident_texts(MOBILE, "STOP") == 200
    assert act_on_inbound(app) == 1
    with db.transaction() as session:
        later = queue_outbound(
            session, to=MOBILE, body="A reminder", kind="reminder", now=clock.now()
        )
        later_id = later.id
    send_and_settle(app, db, clock, fake)
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opted_out_at is not None
        assert session.get(Message, later_id).status == "cancelled"
        ack = session.scalars(select(Message).where(Message.kind == "stop_ack")).one()
    assert fake.create_count(to=MOBILE, body=ack.body) == 1
    # invitation, confirmation, the STOP acknowledgement: nothing after STOP but that
    assert fake.create_count(to=MOBILE) == 3


def test_an_inbound_text_delivered_twice_is_stored_and_acted_on_once(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    invite(app, db, clock)
    send_and_settle(app, db, clock, fake)
    assert fake.resident_texts(MOBILE, "1") == 200
    assert fake.redeliver_last_text() == 200
    assert act_on_inbound(app) == 1
    with db.sessions() as session:
        inbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        assert inbound == 1
        assert session.scalar(select(func.count()).select_from(Booking)) == 1


def test_a_permanent_delivery_failure_releases_the_held_slots(
    app: Flask, db: Database, clock: FixedClock, provider_name: str
) -> None:
    with fake_provider(
        provider_name, post=poster_for(app.test_client()), outcome="permanent"
    ) as fake:
        app.config.update(fake.settings())
        offer_id = invite(app, db, clock)
        send_and_settle(app, db, clock, fake)
    with db.sessions() as session:
        assert message(db, "invitation").status == "undelivered"
        assert session.get(Offer, offer_id).state == "withdrawn"
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.not_textable_at is not None


def test_a_number_the_provider_refuses_as_not_a_mobile_is_marked_not_textable(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    fake.refuse_number(MOBILE)
    invite(app, db, clock)
    report = dispatch_due(db, provider_from_config(app.config), now=clock.now())
    assert report.failed == 1 and fake.create_count() == 0
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.not_textable_at is not None


def test_change_after_booking_reaches_the_phone_as_one_text_with_the_new_times(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    invite(app, db, clock)
    send_and_settle(app, db, clock, fake)
    clock.advance(minutes=30)
    assert fake.resident_texts(MOBILE, "2") == 200
    act_on_inbound(app)
    send_and_settle(app, db, clock, fake)
    before = len(fake.creates())
    with db.transaction() as session:  # room for new times: under the limit, slots free
        member = session.scalars(select(CampaignMember)).one()
        member.invitations = 1
        for slot in session.scalars(select(Slot).where(Slot.state == "held")):
            slot.state, slot.held_by_offer_id = "free", None
    clock.advance(minutes=5)
    assert fake.resident_texts(MOBILE, "CHANGE") == 200
    assert act_on_inbound(app) == 1
    send_and_settle(app, db, clock, fake)
    after = [c.body for c in fake.creates()[before:]]
    assert len(after) == 1
    assert after[0].startswith("Your NHS Health Check on ") and "is cancelled" in after[0]
    assert "1) " in after[0] and "3) " in after[0]
