"""Conversation rows: the per-number follow-up state, found by key or locked by number."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.data.models import Conversation, Patient, PhoneNumber, Slot


def lock(session: Session, number: str, now: datetime) -> Conversation:
    """The number's conversation row, created if new and locked until commit.

    One upsert (INSERT ... ON CONFLICT DO UPDATE) both creates and row-locks it, so every
    inbound text from one number is acted on in turn on PostgreSQL (SQLite's single
    writer already serialises them).
    """
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(Conversation).values(number=number, unclear_streak=0, updated_at=now)
    return session.scalars(
        statement.on_conflict_do_update(
            index_elements=["number"], set_={"updated_at": statement.excluded.updated_at}
        )
        .returning(Conversation)
        .execution_options(populate_existing=True)
    ).one()


def lock_many(session: Session, numbers: Iterable[str], now: datetime) -> dict[str, Conversation]:
    """The numbers' conversation rows by number, created if new and locked until commit.

    One multi-row upsert in number order: two replies jobs locking overlapping batches
    take the rows in the same order, so one waits for the other and neither deadlocks.
    """
    ordered = sorted(set(numbers))
    if not ordered:
        return {}
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(Conversation).values(
        [{"number": n, "unclear_streak": 0, "updated_at": now} for n in ordered]
    )
    rows = session.scalars(
        statement.on_conflict_do_update(
            index_elements=["number"], set_={"updated_at": statement.excluded.updated_at}
        )
        .returning(Conversation)
        .execution_options(populate_existing=True)
    ).all()
    return {row.number: row for row in rows}


def by_key(session: Session, key: str, practice_ids: Iterable[int] | None) -> Conversation | None:
    """The conversation with this key among `practice_ids`' (None: any), by its index."""
    query = select(Conversation).where(Conversation.key == key)
    if practice_ids is not None:
        query = query.where(Conversation.practice_id.in_(list(practice_ids)))
    return session.scalar(query)


def flagged(session: Session, practice_ids: Iterable[int] | None) -> list[Conversation]:
    """Unresolved flagged conversations of `practice_ids` (None: all), oldest flag first."""
    query = select(Conversation).where(
        Conversation.flagged_at.is_not(None), Conversation.resolved_at.is_(None)
    )
    if practice_ids is not None:
        query = query.where(Conversation.practice_id.in_(list(practice_ids)))
    return list(session.scalars(query.order_by(Conversation.flagged_at)))


def patients_on(session: Session, number: str, practice_id: int | None) -> list[Patient]:
    """The practice's patients with this mobile (a shared phone's other patients never)."""
    if practice_id is None:
        return []
    return list(
        session.scalars(
            select(Patient)
            .where(Patient.mobile == number, Patient.practice_id == practice_id)
            .order_by(Patient.id)
        )
    )


def phone(session: Session, number: str) -> PhoneNumber | None:
    return session.get(PhoneNumber, number)


def free_slots(
    session: Session, practice_id: int | None, start: datetime, end: datetime, limit: int = 100
) -> list[Slot]:
    """The practice's free slots starting between `start` and `end`, earliest first."""
    if practice_id is None:
        return []
    return list(
        session.scalars(
            select(Slot)
            .where(
                Slot.practice_id == practice_id,
                Slot.state == "free",
                Slot.starts_at > start,
                Slot.starts_at < end,
            )
            .order_by(Slot.starts_at)
            .limit(limit)
        )
    )


def resolve(session: Session, number: str, *, now: datetime, by: str) -> None:
    """Mark the number's open conversation resolved by staff."""
    session.execute(
        update(Conversation)
        .where(Conversation.number == number, Conversation.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by=by, unclear_streak=0, updated_at=now)
    )
