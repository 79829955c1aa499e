"""Opt-outs and textability: STOP stops everything to that number, at once and for good."""

from __future__ import annotations

from sqlalchemy import select

from app.data.models import CampaignMember, Message, Offer, PhoneNumber, Slot
from app.services import numbers
from tests.builders import add_open_offer, queue_outbound

MOBILE = "+447700900123"


def test_stop_cancels_queued_messages_and_releases_the_offers_holds(db, clock) -> None:
    with db.transaction() as session:
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        queue_outbound(
            session,
            to=MOBILE,
            body="Invitation",
            kind="invitation",
            now=clock.now(),
            offer_id=offer.id,
            dedupe_key=f"invitation:offer:{offer.id}",
        )
        queue_outbound(
            session, to="+447700900999", body="Someone else", kind="reply", now=clock.now()
        )
        offer_id = offer.id

    with db.transaction() as session:
        assert numbers.opt_out(session, MOBILE, now=clock.now(), word="STOP", source="sms")

    with db.transaction() as session:
        statuses = dict(session.execute(select(Message.to_number, Message.status)).all())
        assert statuses == {MOBILE: "cancelled", "+447700900999": "queued"}
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.state == "withdrawn"
        held = session.scalars(select(Slot).where(Slot.held_by_offer_id == offer_id)).all()
        assert held == []
        member = session.get(CampaignMember, offer.member_id)
        assert member is not None and member.state == "opted_out"
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opt_out_word == "STOP"
        assert numbers.is_opted_out(session, MOBILE)


def test_a_second_stop_is_not_new_so_it_is_acknowledged_once(db, clock) -> None:
    with db.transaction() as session:
        assert numbers.opt_out(session, MOBILE, now=clock.now(), word="STOP", source="sms")
    with db.transaction() as session:
        assert not numbers.opt_out(session, MOBILE, now=clock.now(), word="stop", source="sms")
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opt_out_word == "STOP"


def test_start_reverses_an_opt_out_and_only_an_opted_out_number(db, clock) -> None:
    with db.transaction() as session:
        assert not numbers.opt_in(session, MOBILE, now=clock.now())
        numbers.opt_out(session, MOBILE, now=clock.now(), word="STOP", source="sms")
    with db.transaction() as session:
        assert numbers.opt_in(session, MOBILE, now=clock.now())
        assert not numbers.is_opted_out(session, MOBILE)


def test_a_permanent_failure_marks_the_number_not_textable_and_frees_its_slots(db, clock) -> None:
    with db.transaction() as session:
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        offer_id = offer.id
    with db.transaction() as session:
        numbers.mark_not_textable(session, MOBILE, now=clock.now(), reason="30006 landline")
    with db.transaction() as session:
        unsendable = set(session.scalars(numbers.unsendable_numbers()))
        assert unsendable == {MOBILE}
        assert session.scalar(select(Offer.state).where(Offer.id == offer_id)) == "withdrawn"
        assert not session.scalars(select(Slot).where(Slot.state == "held")).all()
        assert not numbers.is_opted_out(session, MOBILE)
