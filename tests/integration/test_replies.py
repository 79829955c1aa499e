"""Handling residents' replies: booking, answers, opt-outs, declines, flags (both databases)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, select

from app.data.models import (
    Booking,
    CampaignMember,
    Conversation,
    Message,
    Offer,
    PhoneNumber,
    Slot,
)
from app.services import reply_actions
from app.settings import Settings
from tests.builders import add_open_offer, add_patient, add_practice, handle_inbound, queue_outbound

MOBILE = "+447700900001"
OUR_NUMBER = "+447700900000"
_sids = itertools.count(1)


def text(app, db, clock, body: str, *, sid: str | None = None, number: str = MOBILE, **kw):
    return handle_inbound(
        db,
        message_sid=sid or f"SM{next(_sids):032d}",
        from_number=number,
        to_number=OUR_NUMBER,
        body=body,
        now=clock.now(),
        settings=Settings.from_config(app.config),
        **kw,
    )


def an_offer(db, clock, **kw) -> int:
    with db.transaction() as session:
        return add_open_offer(session, now=clock.now(), **kw).id


def outbound(db, kind: str | None = None) -> list[Message]:
    with db.sessions() as session:
        query = select(Message).where(Message.direction == "out").order_by(Message.id)
        if kind:
            query = query.where(Message.kind == kind)
        return list(session.scalars(query))


def slot_states(db, offer_id: int) -> dict[int, str]:
    """State of each slot the offer held, by position (slots keep their offer_slot rows)."""
    from app.data.models import OfferSlot

    with db.sessions() as session:
        rows = session.execute(
            select(OfferSlot.position, Slot.state)
            .join(Slot, Slot.id == OfferSlot.slot_id)
            .where(OfferSlot.offer_id == offer_id)
        )
        return {position: state for position, state in rows}


def test_a_choice_books_that_slot_and_releases_the_other_two(app, db, clock):
    offer_id = an_offer(db, clock)
    result = text(app, db, clock, "option 2")
    assert (result.intent, result.action) == ("choice", "booked")
    assert slot_states(db, offer_id) == {1: "free", 2: "booked", 3: "free"}
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "booked"
        booking = session.scalars(select(Booking)).one()
        assert booking.offer_id == offer_id and booking.state == "booked"
        assert len(booking.calendar_token) >= 32
        member = session.get(CampaignMember, offer.member_id)
        assert member is not None and member.state == "booked"
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert (inbound.provider_sid, inbound.intent, inbound.offer_id) == (
            inbound.provider_sid,
            "choice",
            offer_id,
        )


def test_the_confirmation_is_queued_at_once_with_place_time_and_calendar_link(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "2")
    [confirmation] = outbound(db, "confirmation")
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
    assert confirmation.in_send_window is False
    assert confirmation.not_before == clock.now()
    assert confirmation.dedupe_key == f"confirmation:booking:{booking.id}"
    assert f"https://nudge.example.test/c/{booking.calendar_token}.ics" in confirmation.body
    assert "1 Test Street, London E1 1AA" in confirmation.body
    assert "Test Medical Centre" in confirmation.body
    assert "reply CHANGE" in confirmation.body
    assert "Sun 18 Jan 11:00" in confirmation.body  # slot 2: three days + 25 h, London time


def test_the_same_message_sid_twice_acts_once(app, db, clock):
    an_offer(db, clock)
    first = text(app, db, clock, "1", sid="SMdup")
    again = text(app, db, clock, "1", sid="SMdup")
    assert first.action == "booked" and again.duplicate
    with db.sessions() as session:
        assert session.scalar(select(func.count(Booking.id))) == 1
        assert session.scalar(select(func.count(Message.id)).where(Message.direction == "in")) == 1
    assert len(outbound(db)) == 1


def test_a_second_choice_after_booking_books_nothing_more(app, db, clock):
    offer_id = an_offer(db, clock)
    text(app, db, clock, "1")
    result = text(app, db, clock, "3")
    assert result.action == "already_booked"
    assert slot_states(db, offer_id) == {1: "booked", 2: "free", 3: "free"}
    assert [m.body.startswith("You're booked") for m in outbound(db, "reply")] == [True]


def test_an_ambiguous_reply_asks_for_one_number_and_books_nothing(app, db, clock):
    offer_id = an_offer(db, clock)
    result = text(app, db, clock, "1 or 2")
    assert result.action == "asked_which_number"
    assert slot_states(db, offer_id) == {1: "held", 2: "held", 3: "held"}
    [reply] = outbound(db, "reply")
    assert "just one number" in reply.body and reply.in_send_window is False


def test_a_number_in_a_sentence_books_nothing(app, db, clock):
    offer_id = an_offer(db, clock)
    assert text(app, db, clock, "can I come at 3pm?").action == "unclear"
    assert slot_states(db, offer_id) == {1: "held", 2: "held", 3: "held"}


def test_stop_opts_out_cancels_queued_messages_releases_holds_and_acknowledges_once(app, db, clock):
    offer_id = an_offer(db, clock)
    with db.transaction() as session:
        queued = queue_outbound(session, to=MOBILE, kind="reminder", offer_id=offer_id).id
    result = text(app, db, clock, "Stop texting me")
    assert result.action == "opted_out"
    assert text(app, db, clock, "STOP").action == "already_opted_out"
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opted_out_at == clock.now()
        assert (phone.opt_out_word, phone.opt_out_source) == ("STOP", "sms")
        assert session.get(Message, queued).status == "cancelled"
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "withdrawn"
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}
    acks = outbound(db, "stop_ack")
    assert len(acks) == 1 and "START" in acks[0].body
    assert outbound(db, "reply") == []


def test_stop_already_answered_by_twilio_advanced_opt_out_is_recorded_without_our_ack(
    app, db, clock
):
    an_offer(db, clock)
    result = text(app, db, clock, "STOP", opt_out_type="STOP")
    assert result.action == "opted_out"
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opt_out_source == "provider"
    assert outbound(db) == []


def test_start_opts_the_number_back_in(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "STOP")
    assert text(app, db, clock, "START").action == "opted_in"
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opted_out_at is None and phone.opted_in_at
    assert [m.kind for m in outbound(db)] == ["stop_ack", "reply"]


def test_help_answers_with_the_practice_phone_and_how_to_opt_out(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "HELP")
    [reply] = outbound(db, "reply")
    assert "020 8000 0000" in reply.body and "STOP" in reply.body


def test_no_thanks_declines_releases_holds_and_stops_nudges_in_that_campaign(app, db, clock):
    offer_id = an_offer(db, clock)
    assert text(app, db, clock, "No thanks").action == "declined"
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "declined"
        member = session.get(CampaignMember, offer.member_id)
        assert member is not None and member.state == "declined" and member.declined_at
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}


def test_two_unclear_replies_in_a_row_flag_the_conversation_for_staff(app, db, clock):
    an_offer(db, clock)
    assert text(app, db, clock, "what?").action == "unclear"
    with db.sessions() as session:
        conversation = session.get(Conversation, MOBILE)
        assert conversation is not None and conversation.flagged_at is None
    assert text(app, db, clock, "Tuesday morning").action == "flagged"
    with db.sessions() as session:
        conversation = session.get(Conversation, MOBILE)
        assert conversation is not None
        assert (conversation.unclear_streak, conversation.flag_reason) == (2, "unclear")
        assert conversation.practice_id is not None
    bodies = [m.body for m in outbound(db, "reply")]
    assert "Reply 1, 2 or 3" in bodies[0] and "will contact you" in bodies[1]


def test_a_clear_reply_resets_the_unclear_streak(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "what?")
    text(app, db, clock, "HELP")
    assert text(app, db, clock, "eh?").action == "unclear"


def test_an_unknown_sender_gets_one_polite_generic_answer_and_nothing_else(app, db, clock):
    stranger = "+447700900999"
    an_offer(db, clock)
    assert text(app, db, clock, "2", number=stranger).action == "unknown_sender"
    assert text(app, db, clock, "hello?", number=stranger).action == "unknown_sender"
    with db.sessions() as session:
        assert session.scalar(select(func.count(Booking.id))) == 0
        conversation = session.get(Conversation, stranger)
        assert conversation is not None and conversation.flag_reason == "unknown_sender"
    [answer] = outbound(db)
    assert answer.to_number == stranger
    assert "can't match this number" in answer.body
    assert "Test" not in answer.body  # no practice or patient detail


def test_a_patient_without_an_offer_is_known_not_unknown(app, db, clock):
    with db.transaction() as session:
        add_patient(session, add_practice(session), mobile="+447700900321")
    assert text(app, db, clock, "HELP", number="+447700900321").action == "help"


def test_a_choice_after_expiry_says_those_times_have_gone_and_books_nothing(
    app, db, clock, monkeypatch
):
    monkeypatch.setattr(reply_actions, "create_offer", lambda *a, **k: None)
    offer_id = an_offer(db, clock, expires_in_hours=1)
    clock.advance(hours=2)
    result = text(app, db, clock, "2")
    assert result.action == "times_gone"
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "expired"
        assert session.scalar(select(func.count(Booking.id))) == 0
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}
    [reply] = outbound(db, "reply")
    assert "those times have gone" in reply.body


def test_change_after_booking_cancels_it_and_frees_the_slot(app, db, clock, monkeypatch):
    monkeypatch.setattr(reply_actions, "create_offer", lambda *a, **k: None)
    offer_id = an_offer(db, clock)
    text(app, db, clock, "1")
    result = text(app, db, clock, "CHANGE")
    assert result.action == "changed"
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
        assert booking.state == "cancelled" and booking.cancelled_at == clock.now()
        member = session.scalar(select(CampaignMember))
        assert member is not None and member.state == "waiting"
    change = outbound(db, "reply")[-1]
    assert "is cancelled" in change.body and "Wed 17 Jan" not in change.body
    assert text(app, db, clock, "CHANGE").action == "unclear"  # nothing left to change


def test_more_with_no_new_times_keeps_the_current_offer(app, db, clock, monkeypatch):
    monkeypatch.setattr(reply_actions, "create_offer", lambda *a, **k: None)
    offer_id = an_offer(db, clock)
    assert text(app, db, clock, "MORE").action == "no_slots"
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "open"
    assert slot_states(db, offer_id) == {1: "held", 2: "held", 3: "held"}
    [reply] = outbound(db, "reply")
    assert "still held" in reply.body


def test_more_closes_the_offer_and_sends_new_times_now(app, db, clock, monkeypatch):
    """MORE makes a fresh offer (create_offer, faked here with the builder)."""
    offer_id = an_offer(db, clock)

    def fake_create_offer(session, member_id, *, now, settings):
        member = session.get(CampaignMember, member_id)
        fresh = add_open_offer(session, now=now, mobile=MOBILE, spare_slots=0)
        fresh.member_id, fresh.sequence = member.id, 2
        queue_outbound(session, to=MOBILE, kind="invitation", offer_id=fresh.id, now=now)
        return fresh

    monkeypatch.setattr(reply_actions, "create_offer", fake_create_offer)
    clock.advance(hours=12)  # 22:00 London: outside any send window
    assert text(app, db, clock, "more please").action == "new_offer"
    with db.sessions() as session:
        old = session.get(Offer, offer_id)
        assert old is not None and old.state == "withdrawn"
        invitation = session.scalars(select(Message).where(Message.kind == "invitation")).one()
        assert invitation.in_send_window is False and invitation.not_before == clock.now()
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}


def test_reply_templates_fit_the_segment_budget():
    from app.domain.segments import count
    from app.sms.rendering import render

    common = {"practice_name": "Riverside Medical Centre", "practice_phone": "020 7946 0000"}
    rendered = {
        "confirmation": render(
            "confirmation",
            practice_name="Riverside Medical Centre",
            practice_address="12 Long Road, Newtown NE1 2AB",
            location="Nurse room 2",
            slot_time="Tue 3 Dec 10:20",
            duration_minutes=30,
            calendar_url="https://nudge.example.nhs.uk/c/" + "x" * 32 + ".ics",
        ),
        "help": render("help", **common),
        "unclear": render("unclear", has_offer=True, has_booking=False, flagged=True, **common),
        "which_number": render("which_number", **common),
        "stop_ack": render("stop_ack", has_booking=True, **common),
        "start_ack": render("start_ack", **common),
        "declined": render("declined", **common),
        "change": render("change", slot_time="Tue 3 Dec 10:20", new_times=False, **common),
        "no_slots": render("no_slots", has_offer=True, **common),
        "times_gone": render("times_gone", new_times=False, **common),
        "already_booked": render("already_booked", slot_time="Tue 3 Dec 10:20", **common),
        "unknown_sender": render("unknown_sender", **common),
    }
    for name, body in rendered.items():
        segments = count(body)
        assert segments.encoding == "GSM-7", name
        assert segments.segments <= (3 if name == "confirmation" else 2), (name, body)


def test_queued_reply_expiry_is_not_set_so_a_late_dispatcher_still_answers(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "HELP")
    [reply] = outbound(db, "reply")
    assert reply.expires_at is None
    assert reply.not_before is not None and reply.not_before - clock.now() < timedelta(seconds=1)


def test_more_gets_real_new_times_from_the_offer_service(app, db, clock):
    offer_id = an_offer(db, clock)
    assert text(app, db, clock, "MORE").action == "new_offer"
    with db.sessions() as session:
        offers = list(session.scalars(select(Offer).order_by(Offer.id)))
        assert [o.state for o in offers] == ["withdrawn", "open"]
        assert offers[1].member_id == offers[0].member_id
        invitation = session.scalars(select(Message).where(Message.kind == "invitation")).one()
        assert invitation.offer_id == offers[1].id and invitation.in_send_window is False
        held = session.scalar(
            select(func.count(Slot.id)).where(Slot.held_by_offer_id == offers[1].id)
        )
        assert held == 3
    assert slot_states(db, offer_id) == {1: "free", 2: "free", 3: "free"}


def test_more_at_the_invitation_limit_keeps_the_current_times(app, db, clock):
    offer_id = an_offer(db, clock)
    with db.transaction() as session:
        member = session.scalar(select(CampaignMember))
        assert member is not None
        member.invitations = 2
    assert text(app, db, clock, "MORE").action == "no_slots"
    assert slot_states(db, offer_id) == {1: "held", 2: "held", 3: "held"}


def test_change_after_booking_offers_new_times(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "3")
    assert text(app, db, clock, "change please").action == "changed_new_offer"
    with db.sessions() as session:
        booking = session.scalars(select(Booking)).one()
        assert booking.state == "cancelled"
        fresh = session.scalars(select(Offer).where(Offer.state == "open")).one()
        held = set(session.scalars(select(Slot.id).where(Slot.held_by_offer_id == fresh.id)))
        assert len(held) == 3 and booking.slot_id not in held  # not the time just given up
        assert session.get(Slot, booking.slot_id).state == "free"
    invitation = outbound(db, "invitation")[-1]
    assert invitation.body.startswith("Your NHS Health Check on ")
    assert "is cancelled.\nChoose a new time from those below.\n\n" in invitation.body
    assert "1) " in invitation.body and invitation.in_send_window is False
    assert not [m for m in outbound(db, "reply") if "cancelled" in m.body]


def _sent_bodies(db, clock) -> list[str]:
    """Dispatch everything due through a recording provider; the bodies in send order."""
    from app.services.dispatch import dispatch_due
    from app.sms.outbox_provider import OutboxProvider

    seen: list[str] = []

    class Recording(OutboxProvider):
        def send(self, sms, now):  # type: ignore[no-untyped-def]
            seen.append(sms.body)
            return super().send(sms, now)

    dispatch_due(db, Recording(), now=clock.now())
    return seen


def test_after_change_the_cancellation_and_the_new_times_arrive_as_one_text(app, db, clock):
    """Through the dispatcher: nothing promises times that were already sent."""
    an_offer(db, clock)
    text(app, db, clock, "3")
    _sent_bodies(db, clock)  # the confirmation
    clock.advance(minutes=10)
    text(app, db, clock, "CHANGE")
    sent = _sent_bodies(db, clock)
    assert len(sent) == 1
    opening, times = sent[0].split("\n\n", 1)
    assert opening.startswith("Your NHS Health Check on ") and "is cancelled" in opening
    assert "1) " in times and "2) " in times and "3) " in times
    assert not any("follow in the next text" in body for body in sent)


def test_a_choice_after_expiry_sends_the_apology_with_the_fresh_times(app, db, clock):
    offer_id = an_offer(db, clock)
    with db.transaction() as session:
        session.get(Offer, offer_id).state = "expired"
    _sent_bodies(db, clock)
    assert text(app, db, clock, "2").action == "times_gone_new_offer"
    sent = _sent_bodies(db, clock)
    assert len(sent) == 1 and sent[0].startswith("Sorry, those times have gone.\n")
    assert "1) " in sent[0]


def test_change_with_no_times_left_says_how_to_book(app, db, clock):
    an_offer(db, clock)
    text(app, db, clock, "3")
    with db.transaction() as session:
        member = session.scalar(select(CampaignMember))
        member.invitations = 2
    assert text(app, db, clock, "CHANGE").action == "changed"
    change = outbound(db, "reply")[-1]
    assert "is cancelled" in change.body and "call" in change.body


def test_the_stop_ack_and_night_time_answers_are_dispatched_at_once(app, db, clock):
    """Through the dispatcher: replies ignore the send window; only the STOP
    acknowledgement reaches a number that has just opted out."""
    from app.services.dispatch import dispatch_due
    from app.sms.outbox_provider import OutboxProvider

    an_offer(db, clock)
    with db.transaction() as session:
        add_patient(session, add_practice(session, ods="D99999"), mobile="+447700900555")
    clock.advance(hours=12)  # 22:00 London on a Wednesday: outside every send window
    text(app, db, clock, "HELP", number="+447700900555")
    text(app, db, clock, "STOP")
    dispatch_due(db, OutboxProvider(), now=clock.now())
    sent = {(m.to_number, m.kind) for m in outbound(db) if m.status == "sent"}
    assert sent == {("+447700900555", "reply"), (MOBILE, "stop_ack")}


def test_a_webhook_post_without_a_message_sid_is_a_bad_request(client):
    from twilio.request_validator import RequestValidator

    params = {"From": MOBILE, "Body": "2"}
    signature = RequestValidator("test-auth-token").compute_signature(
        "https://nudge.example.test/webhooks/twilio/sms", params
    )
    response = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 400


def test_a_staff_cancellation_sends_the_apology_with_the_new_times_as_one_text(app, db, clock):
    """Through the dispatcher, at 22:00 (outside the send window): one text, at once."""
    from app.services.diary import cancel_booked_slot

    an_offer(db, clock)
    text(app, db, clock, "1")
    _sent_bodies(db, clock)
    clock.advance(hours=12)
    with db.sessions() as session:
        slot_id = session.scalars(select(Booking.slot_id)).one()
    result = cancel_booked_slot(
        db, slot_id, now=clock.now(), actor="gp@example.nhs.uk", settings=Settings()
    )
    assert result.patient_told and result.new_offer_id is not None
    sent = _sent_bodies(db, clock)
    assert len(sent) == 1
    assert sent[0].startswith("Sorry, ") and "has had to cancel your NHS Health Check" in sent[0]
    assert "Choose a new time from those below.\n\n" in sent[0] and "3) " in sent[0]
    assert outbound(db, "booking_cancelled") == []
