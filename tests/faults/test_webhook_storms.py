"""Fault 5, webhook storms: replies delivered twice at once, status callbacks repeated and
reordered, and STOP arriving while that number's invitation is being dispatched."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from app import create_app
from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, Message, Offer, OfferSlot, PhoneNumber
from app.services.dispatch import dispatch_due
from app.sms.provider import OutgoingSms, SendResult
from tests.builders import act_on_inbound, add_open_offer, queue_outbound
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.faults.invariants import Create, check_all
from tests.faults.wave import mobile

pytestmark = pytest.mark.postgres

OUR_NUMBER = "+447700900000"


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(pg_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    yield app
    app.extensions["nudge.db"].dispose()


def post_signed(app: Flask, path: str, params: dict[str, str]) -> int:
    """POST as Twilio does: form-encoded, signed over the public URL and the parameters."""
    url = app.config["PUBLIC_BASE_URL"].rstrip("/") + path
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, params)
    response = app.test_client().post(path, data=params, headers={"X-Twilio-Signature": signature})
    return response.status_code


def reply(app: Flask, sid: str, from_number: str, body: str) -> int:
    params = {"MessageSid": sid, "From": from_number, "To": OUR_NUMBER, "Body": body}
    params.update({"AccountSid": app.config["TWILIO_ACCOUNT_SID"], "NumMedia": "0"})
    return post_signed(app, "/webhooks/twilio/sms", params)


def callback(app: Flask, sid: str, status: str, code: str | None) -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "To": "+447700900555"}
    if code:
        params["ErrorCode"] = code
    return post_signed(app, "/webhooks/twilio/status", params)


def test_each_reply_delivered_twice_at_once_acts_once(pg_app: Flask) -> None:
    db: Database = pg_app.extensions["nudge.db"]
    people = 24
    with db.transaction() as session:
        offers = [add_open_offer(session, mobile=mobile(i)).id for i in range(people)]
    choices = {i: 1 + i % 3 for i in range(people)}
    barrier = threading.Barrier(2)

    def deliver(i: int) -> int:
        barrier.wait(timeout=10)  # both copies of one reply race each other
        return reply(pg_app, f"SM{i:032x}", mobile(i), str(choices[i]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = []
        for i in range(people):
            codes += list(pool.map(deliver, [i, i]))
    assert set(codes) == {200}, codes
    with ThreadPoolExecutor(max_workers=2) as pool:  # two replies jobs share the queue
        assert sum(pool.map(lambda _: act_on_inbound(pg_app), range(2))) == people

    with db.transaction() as session:
        inbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        bookings = session.execute(
            select(Booking.offer_id, Booking.slot_id, OfferSlot.position)
            .join(
                OfferSlot,
                (OfferSlot.offer_id == Booking.offer_id) & (OfferSlot.slot_id == Booking.slot_id),
            )
            .where(Booking.state != "cancelled")
        ).all()
        confirmations = session.execute(
            select(Message.booking_id, func.count())
            .where(Message.direction == "out", Message.booking_id.is_not(None))
            .where(Message.kind == "confirmation")
            .group_by(Message.booking_id)
        ).all()
        booked_offers = session.scalar(
            select(func.count()).select_from(Offer).where(Offer.state == "booked")
        )
    assert inbound == people  # the second copy of each was recognised by its SID
    assert sorted(b.offer_id for b in bookings) == sorted(offers)
    assert all(b.position == choices[offers.index(b.offer_id)] for b in bookings)
    assert booked_offers == people
    assert len(confirmations) == people and all(n == 1 for _, n in confirmations)
    check_all(db.engine)


# (callbacks, the one right final state, what happens to the number)
CALLBACK_CASES = [
    ((("sent", None), ("delivered", None), ("failed", "30003")), "failed", "not_textable"),
    ((("sent", None), ("delivered", None)), "delivered", None),
    (
        (("sent", None), ("undelivered", "30005"), ("delivered", None)),
        "undelivered",
        "not_textable",
    ),
    ((("sent", None), ("failed", "21610")), "failed", "opted_out"),
]


@pytest.mark.parametrize(("events", "final", "number_action"), CALLBACK_CASES)
def test_every_order_of_repeated_status_callbacks_ends_in_the_same_right_state(
    pg_app: Flask, events: tuple[tuple[str, str | None], ...], final: str, number_action: Any
) -> None:
    db: Database = pg_app.extensions["nudge.db"]
    orders = list(itertools.permutations(events))
    created: list[Create] = []
    with db.transaction() as session:
        sids = []
        for n, _ in enumerate(orders):
            message = queue_outbound(session, to=mobile(n), body=f"Invitation {n}")
            message.status, message.provider_sid = "sent", f"SM{n:032x}"
            message.sent_at = DEFAULT_NOW
            sids.append(message.provider_sid)
            created.append(Create(message.to_number, message.body, message.provider_sid))
    for sid, order in zip(sids, orders, strict=True):
        # each callback twice, the copies racing; then the whole sequence again
        for status, code in order + order:
            with ThreadPoolExecutor(max_workers=2) as pool:
                twice = [(pg_app, sid, status, code)] * 2
                answers = list(pool.map(lambda args: callback(*args), twice))
            assert set(answers) == {200}, answers
    with db.transaction() as session:
        ends = session.execute(
            select(Message.provider_sid, Message.status, Message.to_number).where(
                Message.provider_sid.in_(sids)
            )
        ).all()
        numbers = {p.number: p for p in session.scalars(select(PhoneNumber))}
    assert {e.status for e in ends} == {final}, [(e.provider_sid, e.status) for e in ends]
    for e in ends:
        phone = numbers.get(e.to_number)
        if number_action == "not_textable":
            assert phone is not None and phone.not_textable_at is not None
        elif number_action == "opted_out":
            assert phone is not None and phone.opted_out_at is not None
        else:
            assert phone is None or (phone.not_textable_at is None and phone.opted_out_at is None)
    check_all(db.engine, created)


class GatedProvider:
    """Records every send; holds the send to one number until released."""

    name = "gated"

    def __init__(self, hold_to: str) -> None:
        self.hold_to = hold_to
        self.holding = threading.Event()
        self.release = threading.Event()
        self.sent: list[Create] = []

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        if sms.to == self.hold_to:
            self.holding.set()
            assert self.release.wait(timeout=20)
        sid = f"SM{sms.message_id:032x}"
        self.sent.append(Create(sms.to, sms.body, sid, now))
        return SendResult(provider_sid=sid)


def test_stop_arriving_while_a_wave_is_being_dispatched_stops_that_numbers_invitation(
    pg_app: Flask,
) -> None:
    db: Database = pg_app.extensions["nudge.db"]
    clock: FixedClock = pg_app.extensions["nudge.clock"]
    ahead, stopper = mobile(1), mobile(2)
    with db.transaction() as session:
        add_open_offer(session, mobile=stopper)
        first = queue_outbound(session, to=ahead, body="Invitation for the number ahead")
        invite = queue_outbound(session, to=stopper, body="Invitation to the one who STOPs")
        later = queue_outbound(session, to=mobile(3), body="Invitation after")
        # claimed in id order in one batch: the STOPping number's invitation is claimed
        # (marked sending) but not yet handed over when STOP lands
        session.execute(
            update(Message)
            .where(Message.id.in_([first.id, invite.id, later.id]))
            .values(in_send_window=False)
        )
        invite_id = invite.id
    provider = GatedProvider(hold_to=ahead)
    dispatcher = threading.Thread(
        target=lambda: dispatch_due(db, provider, now=clock.now(), limit=10)  # type: ignore[arg-type]
    )
    dispatcher.start()
    assert provider.holding.wait(timeout=20), "the dispatcher never reached the provider"
    with db.transaction() as session:
        assert session.get(Message, invite_id).status == "sending"  # type: ignore[union-attr]
    assert reply(pg_app, "SM" + "f" * 32, stopper, "STOP") == 200
    assert act_on_inbound(pg_app) == 1
    provider.release.set()
    dispatcher.join(timeout=30)
    assert not dispatcher.is_alive()
    # the acknowledgement of STOP is the one message that number may still get
    dispatch_due(db, provider, now=clock.now(), limit=10)  # type: ignore[arg-type]

    to_stopper = [c for c in provider.sent if c.to == stopper]
    with db.transaction() as session:
        invite_row = session.get(Message, invite_id)
        assert invite_row is not None and invite_row.status == "cancelled"
        kinds = session.scalars(
            select(Message.kind).where(Message.to_number == stopper, Message.status == "sent")
        ).all()
    assert kinds == ["stop_ack"], kinds
    assert [c.body for c in to_stopper] != [] and "Invitation" not in " ".join(
        c.body for c in to_stopper
    )
    assert {c.to for c in provider.sent} == {ahead, stopper, mobile(3)}
    check_all(db.engine, provider.sent)
