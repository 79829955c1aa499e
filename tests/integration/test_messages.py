"""Queueing outbound messages: one row per purpose, aware UTC times on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.data.models import Message
from tests.builders import queue_outbound


def test_queueing_the_same_purpose_twice_leaves_one_message(db, clock) -> None:
    with db.transaction() as session:
        first = queue_outbound(
            session,
            to="+447700900001",
            body="Hello",
            kind="reply",
            now=clock.now(),
            dedupe_key="reply:SM1",
            in_send_window=False,
        )
    with db.transaction() as session:
        again = queue_outbound(
            session,
            to="+447700900001",
            body="Hello again",
            kind="reply",
            now=clock.now(),
            dedupe_key="reply:SM1",
            in_send_window=False,
        )
        assert again.id == first.id
        assert again.body == "Hello"
        assert session.scalar(select(func.count(Message.id))) == 1


def test_messages_come_back_as_aware_utc_datetimes(db) -> None:
    bst = datetime(2026, 7, 1, 9, 30, tzinfo=UTC) + timedelta(hours=0)
    with db.transaction() as session:
        message = queue_outbound(session, to="+447700900002", body="x", kind="reply", now=bst)
        message_id = message.id
    with db.transaction() as session:
        stored = session.get(Message, message_id)
        assert stored is not None
        assert stored.created_at == bst
        assert stored.created_at.tzinfo is not None
        assert stored.not_before == bst
        assert stored.status == "queued"


def test_queueing_many_skips_purposes_already_queued_in_one_go(db, clock) -> None:
    from app.data import messages

    def text(key: str, body: str) -> messages.OutboundText:
        return messages.OutboundText(
            to="+447700900001", body=body, kind="invitation", dedupe_key=key
        )

    with db.transaction() as session:
        messages.queue(session, text("invitation:offer:1", "first"), now=clock.now())
        messages.queue_many(
            session,
            [text("invitation:offer:1", "again"), text("invitation:offer:2", "second")],
            now=clock.now(),
        )
    with db.sessions() as session:
        bodies = dict(session.execute(select(Message.dedupe_key, Message.body)).all())
    assert bodies == {"invitation:offer:1": "first", "invitation:offer:2": "second"}


def test_cancelling_an_offers_queued_texts_leaves_other_kinds_and_offers(db, clock) -> None:
    from app.data import messages
    from tests.builders import add_open_offer

    with db.transaction() as session:
        one = add_open_offer(session, mobile="+447700900001", now=clock.now())
        two = add_open_offer(session, mobile="+447700900002", now=clock.now())
        for offer, kind in (
            (one, "invitation"),
            (one, "reminder"),
            (one, "reply"),
            (two, "reminder"),
        ):
            queue_outbound(
                session,
                offer.mobile,
                kind=kind,
                now=clock.now(),
                offer_id=offer.id,
                dedupe_key=f"{kind}:offer:{offer.id}",
            )
        messages.cancel_queued(
            session, now=clock.now(), offer_ids=[one.id], kinds=messages.OFFER_TEXTS
        )
        one_id, two_id = one.id, two.id
    with db.sessions() as session:
        status = {(m.offer_id, m.kind): m.status for m in session.scalars(select(Message))}
    assert status == {
        (one_id, "invitation"): "cancelled",
        (one_id, "reminder"): "cancelled",
        (one_id, "reply"): "queued",
        (two_id, "reminder"): "queued",
    }


def test_a_practices_part_of_a_shared_numbers_thread_is_only_its_patients(db, clock) -> None:
    from app.data import messages
    from tests.builders import add_inbound, add_patient, add_practice

    shared, own = "+447700900555", "+447700900556"
    with db.transaction() as session:
        a = add_practice(session, ods="A00001")
        b = add_practice(session, ods="B00001")
        pa = add_patient(session, a, mobile=shared)
        pb = add_patient(session, b, mobile=shared)
        add_patient(session, a, mobile=own)
        queue_outbound(session, shared, "to A's patient", now=clock.now(), patient_id=pa.id)
        queue_outbound(session, shared, "to B's patient", now=clock.now(), patient_id=pb.id)
        add_inbound(session, shared, "not yet read")  # attributed when acted on
        add_inbound(session, own, "only A has this number")
        a_id, pa_id = a.id, pa.id

        def bodies(**filters) -> list[str]:
            return [m.body for m in messages.thread(session, **filters)]

        assert bodies(number=shared, practice_id=a_id) == ["to A's patient"]
        assert bodies(patient_id=pa_id) == ["to A's patient"]
        assert bodies(number=shared, unattributed=True) == ["not yet read"]
        assert bodies(number=own, practice_id=a_id) == ["only A has this number"]
        assert len(bodies(number=shared)) == 3  # the phone itself sees everything
