"""Twilio webhooks through the Flask client, signed with the SDK's RequestValidator."""

from __future__ import annotations

import itertools

import icalendar
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.data.models import Booking, Message, Offer, PhoneNumber, Slot
from app.settings import Settings
from app.web.webhooks import EMPTY_TWIML
from tests.builders import act_on_inbound, add_open_offer, queue_outbound

BASE = "https://nudge.example.test"
TOKEN = "test-auth-token"
MOBILE = "+447700900001"
_sids = itertools.count(1)


def signed_post(
    client,
    path: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    url: str | None = None,
    headers: dict[str, str] | None = None,
):
    signature = RequestValidator(token).compute_signature(url or BASE + path, params)
    return client.post(
        path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})}
    )


def sms(body: str, *, sid: str | None = None, number: str = MOBILE) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": "+447700900000",
        "Body": body,
        "NumMedia": "0",
    }


def an_offer(db, clock) -> int:
    with db.transaction() as session:
        return add_open_offer(session, mobile=MOBILE, now=clock.now()).id


def count(db, model, *where) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_validly_signed_reply_is_stored_answered_with_empty_twiml_then_books(
    app, client, db, clock
):
    an_offer(db, clock)
    response = signed_post(client, "/webhooks/twilio/sms", sms("2"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML
    # the webhook persists and hands on: nothing is acted on in the request
    assert count(db, Message, Message.direction == "in", Message.processed_at.is_(None)) == 1
    assert count(db, Booking) == 0
    assert act_on_inbound(app) == 1
    assert count(db, Booking) == 1
    assert count(db, Message, Message.direction == "in", Message.processed_at.is_(None)) == 0


def test_a_request_signed_with_the_wrong_token_is_refused_and_changes_nothing(client, db, clock):
    an_offer(db, clock)
    response = signed_post(client, "/webhooks/twilio/sms", sms("2"), token="not-the-token")
    assert response.status_code == 403
    assert count(db, Message) == 0 and count(db, Booking) == 0


def test_a_tampered_body_is_refused(client, db, clock):
    an_offer(db, clock)
    params = sms("2")
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", params)
    params["Body"] = "3"
    response = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
    assert count(db, Booking) == 0


def test_a_signature_for_another_url_is_refused(client, db, clock):
    an_offer(db, clock)
    response = signed_post(
        client, "/webhooks/twilio/sms", sms("2"), url="http://localhost/webhooks/twilio/sms"
    )
    assert response.status_code == 403
    assert count(db, Booking) == 0


def test_a_missing_signature_is_refused_and_logged_without_patient_data(client, db, clock, caplog):
    an_offer(db, clock)
    response = client.post("/webhooks/twilio/sms", data=sms("Stop, this is Jo Bloggs"))
    assert response.status_code == 403
    assert count(db, Message) == 0 and count(db, PhoneNumber) == 0
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "rejected Twilio webhook" in logged
    assert MOBILE not in logged and "Bloggs" not in logged


def test_the_status_callback_is_signed_too(client, db, clock):
    params = {"MessageSid": "SMx", "MessageStatus": "delivered"}
    assert signed_post(client, "/webhooks/twilio/status", params, token="bad").status_code == 403
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 200


def test_the_same_message_sid_twice_is_stored_once_acts_once_and_answers_the_same(
    app, client, db, clock
):
    an_offer(db, clock)
    params = sms("1")
    first = signed_post(client, "/webhooks/twilio/sms", params)
    assert act_on_inbound(app) == 1
    again = signed_post(client, "/webhooks/twilio/sms", params)  # Twilio retried, late
    assert act_on_inbound(app) == 0
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    assert count(db, Booking) == 1
    assert count(db, Message, Message.direction == "in") == 1
    assert count(db, Message, Message.kind == "confirmation") == 1


def test_stop_through_the_webhook_cancels_queued_messages_to_that_number(app, client, db, clock):
    offer_id = an_offer(db, clock)
    with db.transaction() as session:
        for kind in ("invitation", "reminder"):
            queue_outbound(
                session, to=MOBILE, body="x", kind=kind, now=clock.now(), offer_id=offer_id
            )
    assert signed_post(client, "/webhooks/twilio/sms", sms("STOP")).status_code == 200
    act_on_inbound(app)
    assert count(db, Message, Message.status == "queued", Message.kind != "stop_ack") == 0
    assert count(db, Message, Message.status == "cancelled") == 2
    assert count(db, Message, Message.kind == "stop_ack", Message.status == "queued") == 1


def test_a_permanent_failure_callback_releases_the_offer(client, db, clock):
    offer_id = an_offer(db, clock)
    with db.transaction() as session:
        message = queue_outbound(
            session, to=MOBILE, body="x", kind="invitation", now=clock.now(), offer_id=offer_id
        )
        message.status, message.provider_sid = "sent", "SMinv"
    params = {"MessageSid": "SMinv", "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 200
    with db.sessions() as session:
        assert session.get(Offer, offer_id).state == "withdrawn"


def test_from_invitation_to_confirmation_and_calendar_through_the_signed_webhook(
    app, client, db, clock
):
    """The journey: an offer is made by the offer service, the resident replies 3 through
    Twilio's webhook, the confirmation is queued with a calendar link that works."""
    from app.data.models import CampaignMember
    from app.services.offers import create_offer

    with db.transaction() as session:
        old = add_open_offer(session, mobile=MOBILE, now=clock.now())
        member = session.get(CampaignMember, old.member_id)
        old.state = "expired"  # the member's first offer lapsed; the service makes a new one
        session.flush()
        member.state = "waiting"
        offer = create_offer(
            session, member.id, now=clock.now(), settings=Settings.from_config(app.config)
        )
        assert offer is not None
        offer_id = offer.id
    with db.sessions() as session:
        invitation = session.scalars(select(Message).where(Message.kind == "invitation")).one()
        assert "Reply 1, 2 or 3" in invitation.body
    clock.advance(minutes=30)
    response = signed_post(client, "/webhooks/twilio/sms", sms("3."))
    assert response.status_code == 200
    assert act_on_inbound(app) == 1
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
        assert booking.offer_id == offer_id
        confirmation = session.scalars(select(Message).where(Message.kind == "confirmation")).one()
    link = f"{BASE}/c/{booking.calendar_token}.ics"
    assert link in confirmation.body and confirmation.to_number == MOBILE
    ics = client.get(link.removeprefix(BASE))
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    event = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")[0]
    with db.sessions() as session:
        starts_at = session.scalar(select(Slot.starts_at).where(Slot.id == booking.slot_id))
    assert event.decoded("dtstart") == starts_at
    # delivery of the confirmation is recorded by the status callback
    with db.transaction() as session:
        session.get(Message, confirmation.id).provider_sid = "SMconf"
        session.get(Message, confirmation.id).status = "sent"
    params = {"MessageSid": "SMconf", "MessageStatus": "delivered"}
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 200
    with db.sessions() as session:
        assert session.get(Message, confirmation.id).status == "delivered"
