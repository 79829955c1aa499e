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
