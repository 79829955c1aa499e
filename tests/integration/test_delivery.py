"""Delivery status callbacks: once each, any order, permanent failures act on the number."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from app.data.models import Message, Offer, PhoneNumber, Slot, StatusEvent
from app.services.delivery import outranks, record_status
from tests.builders import add_open_offer, queue_outbound

MOBILE = "+447700900001"


def sent_message(db, clock, sid: str = "SMsent1", **kw) -> int:
    with db.transaction() as session:
        message = queue_outbound(session, to=MOBILE, now=clock.now(), **kw)
        message.status, message.provider_sid, message.sent_at = "sent", sid, clock.now()
        return message.id


def status_of(db, message_id: int) -> tuple[str, str | None]:
    with db.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.status, message.error_code


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["sent", "delivered", "failed"])), ids="-".join
)
def test_every_arrival_order_of_sent_delivered_failed_ends_the_same(db, clock, order):
    message_id = sent_message(db, clock)
    for status in order:
        record_status(
            db,
            message_sid="SMsent1",
            status=status,
            error_code="30008" if status == "failed" else None,
            now=clock.now(),
        )
    assert status_of(db, message_id) == ("failed", "30008")


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["queued", "sent", "delivered"])), ids="-".join
)
def test_delivered_is_never_overwritten_by_an_earlier_status(db, clock, order):
    message_id = sent_message(db, clock)
    for status in order:
        record_status(db, message_sid="SMsent1", status=status, error_code=None, now=clock.now())
    assert status_of(db, message_id) == ("delivered", None)


def test_a_repeated_callback_is_stored_once_and_changes_nothing(db, clock):
    sent_message(db, clock)
    first = record_status(
        db, message_sid="SMsent1", status="delivered", error_code=None, now=clock.now()
    )
    again = record_status(
        db, message_sid="SMsent1", status="delivered", error_code=None, now=clock.now()
    )
    assert (first.outcome, again.outcome) == ("updated", "duplicate")
    with db.sessions() as session:
        assert session.scalar(select(func.count(StatusEvent.id))) == 1


def test_a_callback_for_an_unknown_sid_is_kept_for_later(db, clock):
    result = record_status(
        db, message_sid="SMnobody", status="sent", error_code=None, now=clock.now()
    )
    assert result.outcome == "unknown_sid"
    with db.sessions() as session:
        assert session.scalar(select(StatusEvent.provider_sid)) == "SMnobody"


@pytest.mark.parametrize("code", ["30003", "30005", "30006", "21211"])
def test_a_permanent_failure_marks_the_number_not_textable_and_releases_holds_now(db, clock, code):
    with db.transaction() as session:
        offer_id = add_open_offer(session, mobile=MOBILE, now=clock.now()).id
    message_id = sent_message(db, clock, offer_id=offer_id, kind="invitation")
    with db.transaction() as session:
        later = queue_outbound(session, to=MOBILE, kind="reminder", now=clock.now()).id
    result = record_status(
        db, message_sid="SMsent1", status="undelivered", error_code=code, now=clock.now()
    )
    assert result.number_action == "not_textable"
    assert status_of(db, message_id) == ("undelivered", code)
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.not_textable_at == clock.now()
        assert code in (phone.not_textable_reason or "")
        assert session.get(Offer, offer_id).state == "withdrawn"
        held = session.scalar(select(func.count(Slot.id)).where(Slot.state == "held"))
        assert held == 0
        assert session.get(Message, later).status == "cancelled"


def test_error_21610_is_an_opt_out_like_stop(db, clock):
    with db.transaction() as session:
        offer_id = add_open_offer(session, mobile=MOBILE, now=clock.now()).id
    sent_message(db, clock, offer_id=offer_id)
    result = record_status(
        db, message_sid="SMsent1", status="failed", error_code="21610", now=clock.now()
    )
    assert result.number_action == "opted_out"
    with db.sessions() as session:
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.opted_out_at == clock.now()
        assert (phone.opt_out_word, phone.opt_out_source) == ("21610", "provider")
        assert session.get(Offer, offer_id).state == "withdrawn"


def test_a_temporary_failure_code_leaves_the_number_alone(db, clock):
    sent_message(db, clock)
    result = record_status(
        db, message_sid="SMsent1", status="undelivered", error_code="30008", now=clock.now()
    )
    assert result.number_action is None
    with db.sessions() as session:
        assert session.get(PhoneNumber, MOBILE) is None


def test_precedence_puts_finals_above_progress_and_failure_above_delivery():
    assert outranks("delivered", "sent") and not outranks("sent", "delivered")
    assert outranks("failed", "delivered") and not outranks("delivered", "undelivered")
    assert outranks("sent", "uncertain") and not outranks("queued", "sending")
