"""Messages: the one way a text enters the outbox or the inbox, is cancelled, or is read.

An outbound text is an `OutboundText` queued in the transaction of whatever caused it,
with a `dedupe_key` naming its purpose, so queueing the same purpose twice (a doubled
scheduler, a repeated webhook) leaves one row. Every message carries the patient (and
offer, booking) it was about; a thread is read by owner, never by phone number alone,
because patients of different practices share phones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.data.bulk import insert_ignoring, table_of
from app.data.models import Message, Patient

OFFER_TEXTS = ("invitation", "reminder")


@dataclass(frozen=True)
class OutboundText:
    """One text to queue: to whom, what, why (`kind`, `dedupe_key`) and about whom.

    `in_send_window=False` for answers to a resident (a conversation is answered at any
    hour); invitations and reminders wait for the campaign's send window.
    """

    to: str
    body: str
    kind: str
    dedupe_key: str | None = None
    from_number: str | None = None
    in_send_window: bool = True
    not_before: datetime | None = None
    expires_at: datetime | None = None
    campaign_id: int | None = None
    patient_id: int | None = None
    offer_id: int | None = None
    booking_id: int | None = None


def _row(text: OutboundText, now: datetime) -> dict[str, Any]:
    return {
        "direction": "out",
        "kind": text.kind,
        "to_number": text.to,
        "from_number": text.from_number,
        "body": text.body,
        "status": "queued",
        "dedupe_key": text.dedupe_key,
        "in_send_window": text.in_send_window,
        "not_before": text.not_before or now,
        "expires_at": text.expires_at,
        "campaign_id": text.campaign_id,
        "patient_id": text.patient_id,
        "offer_id": text.offer_id,
        "booking_id": text.booking_id,
        "attempts": 0,
        "created_at": now,
    }


def _insert(session: Session) -> Any:
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def queue(session: Session, text: OutboundText, *, now: datetime) -> Message:
    """Queue `text`, or return the message already queued for its purpose.

    One statement, ON CONFLICT on the unique dedupe key: another transaction (or an
    earlier call) that queued the same purpose wins without a select or a savepoint.
    """
    statement = (
        _insert(session)(Message)
        .values(**_row(text, now))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message)
    )
    message = session.scalars(statement).one_or_none()
    if message is not None:
        return message
    return session.scalars(select(Message).where(Message.dedupe_key == text.dedupe_key)).one()


def queue_many(session: Session, texts: Sequence[OutboundText], *, now: datetime) -> None:
    """Queue many texts at once (COPY and one INSERT ... SELECT on PostgreSQL, one
    executemany on SQLite); a purpose already queued is skipped, as `queue` does."""
    insert_ignoring(
        session,
        table_of(Message),
        [_row(text, now) for text in texts],
        index_elements=["dedupe_key"],
    )


_INBOUND_INSERT: dict[str, Any] = {}


def store_inbound(
    session: Session,
    *,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    intent: str,
    opt_out_type: str | None,
    now: datetime,
) -> int | None:
    """Insert an inbound text unless its provider SID is stored; its id, else None.

    ON CONFLICT DO NOTHING on the unique SID: a concurrent duplicate waits for the first
    to commit, then inserts nothing. The statement is built once per dialect and run on
    the connection (the webhook's only statement: building an ORM insert per request
    cost more than running it). Who it is about is decided when it is acted on.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _INBOUND_INSERT.get(dialect)
    if statement is None:
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        table = Message.__table__
        assert isinstance(table, Table)
        statement = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["provider_sid"])
            .returning(table.c.id)
        )
        _INBOUND_INSERT[dialect] = statement
    row = {
        "direction": "in",
        "kind": "",
        "to_number": to_number,
        "from_number": from_number,
        "body": body,
        "status": "received",
        "provider_sid": message_sid,
        "intent": intent,
        "opt_out_type": opt_out_type,
        "in_send_window": False,
        "attempts": 0,
        "created_at": now,
        "status_updated_at": now,
    }
    return connection.execute(statement, row).scalar()


def claim_next_inbound(session: Session, *, after: int = 0) -> Message | None:
    """The oldest inbound text after id `after` not yet acted on, locked until commit;
    texts another worker has claimed are skipped (PostgreSQL; SQLite has one writer)."""
    return session.scalar(
        select(Message)
        .where(Message.direction == "in", Message.processed_at.is_(None), Message.id > after)
        .order_by(Message.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def claim_inbound(session: Session, *, after: int = 0, limit: int) -> list[Message]:
    """Up to `limit` of the oldest inbound texts after id `after` not yet acted on, locked
    until commit; texts another worker has claimed are skipped (PostgreSQL; SQLite has
    one writer)."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.direction == "in", Message.processed_at.is_(None), Message.id > after)
            .order_by(Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def first_pending_outside(
    session: Session, numbers: Iterable[str], claimed: Iterable[int]
) -> dict[str, int]:
    """Per number, the oldest text still waiting to be acted on that is not among the
    `claimed` ids (one a worker has not committed yet, or not claimed at all)."""
    rows = session.execute(
        select(Message.from_number, func.min(Message.id))
        .where(
            Message.direction == "in",
            Message.processed_at.is_(None),
            Message.from_number.in_(list(numbers)),
            Message.id.not_in(list(claimed)),
        )
        .group_by(Message.from_number)
    )
    return {number: first for number, first in rows if number is not None}


def earlier_inbound_pending(session: Session, message: Message) -> bool:
    """Is an earlier text from the same number still waiting to be acted on?"""
    earlier = session.scalar(
        select(Message.id)
        .where(
            Message.direction == "in",
            Message.processed_at.is_(None),
            Message.from_number == message.from_number,
            Message.id < message.id,
        )
        .limit(1)
    )
    return earlier is not None


def attribute_inbound_many(session: Session, stamps: Sequence[dict[str, Any]]) -> None:
    """Stamp inbound texts acted on, each with the patient (and offer) it was acted on
    for: one executemany of rows keyed by `id`."""
    if stamps:
        session.execute(update(Message), list(stamps))


def cancel_queued(
    session: Session,
    *,
    now: datetime,
    offer_ids: Iterable[int] | None = None,
    booking_id: int | None = None,
    to_number: str | None = None,
    kinds: Iterable[str] | None = None,
) -> None:
    """Cancel the still-queued outbound texts for these offers, this booking or this
    number (optionally only of `kinds`): what they were about no longer stands."""
    where: list[ColumnElement[bool]] = [Message.direction == "out", Message.status == "queued"]
    if offer_ids is not None:
        where.append(Message.offer_id.in_(list(offer_ids)))
    if booking_id is not None:
        where.append(Message.booking_id == booking_id)
    if to_number is not None:
        where.append(Message.to_number == to_number)
    if kinds is not None:
        where.append(Message.kind.in_(list(kinds)))
    assert len(where) > 2, "cancel_queued needs an offer, booking or number"
    session.execute(update(Message).where(*where).values(status="cancelled", status_updated_at=now))


def send_now(
    session: Session, *, offer_id: int, kind: str, now: datetime, preface: str | None = None
) -> None:
    """Let the offer's queued text of `kind` go at once, outside the send window (an
    answer to the resident's own text), led by `preface` when given.

    What introduces new times (the booking is cancelled, those times have gone) is the
    start of the text carrying them, not a text of its own: two texts may reach a phone
    in either order, and "new times follow" arriving after the times reads as nonsense.
    """
    values: dict[str, Any] = {"in_send_window": False, "not_before": now}
    if preface:
        values["body"] = literal(preface.strip() + "\n\n") + Message.body
    session.execute(
        update(Message)
        .where(Message.offer_id == offer_id, Message.status == "queued", Message.kind == kind)
        .values(**values)
    )


def last_patient_texted(session: Session, number: str) -> int | None:
    """The patient the latest text we queued to `number` was about (None: no such text)."""
    return session.scalar(
        select(Message.patient_id)
        .where(
            Message.to_number == number,
            Message.direction == "out",
            Message.patient_id.is_not(None),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )


def _with_number(number: str) -> ColumnElement[bool]:
    return or_(
        and_(Message.direction == "out", Message.to_number == number),
        and_(Message.direction == "in", Message.from_number == number),
    )


def thread(
    session: Session,
    *,
    number: str | None = None,
    patient_id: int | None = None,
    practice_id: int | None = None,
    unattributed: bool = False,
    include_cancelled: bool = True,
    limit: int | None = None,
) -> list[Message]:
    """Messages oldest first (the latest `limit`), by explicit filters.

    - `patient_id`: only that patient's messages (a timeline);
    - `number` with `practice_id`: the number's messages about that practice's patients,
      and those not yet attributed to anyone when no other practice's patient has the
      number (so a shared phone never shows one practice another's texts);
    - `number` with `unattributed=True`: its messages attributed to nobody (an unknown
      sender's conversation);
    - `number` alone: everything to and from the phone (the resident's own view);
    - no filter: every message (the operator's log).
    """
    query = select(Message)
    if number is not None:
        query = query.where(_with_number(number))
    if patient_id is not None:
        query = query.where(Message.patient_id == patient_id)
    if practice_id is not None:
        assert number is not None, "a practice's part of a thread needs the number"
        ours = select(Patient.id).where(Patient.practice_id == practice_id)
        shared = exists().where(Patient.mobile == number, Patient.practice_id != practice_id)
        query = query.where(
            or_(
                Message.patient_id.in_(ours.scalar_subquery()),
                and_(Message.patient_id.is_(None), ~shared),
            )
        )
    elif unattributed:
        query = query.where(Message.patient_id.is_(None))
    if not include_cancelled:
        query = query.where(Message.status != "cancelled")
    if limit is None:
        return list(session.scalars(query.order_by(Message.created_at, Message.id)))
    latest = session.scalars(
        query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    ).all()
    return list(reversed(latest))
