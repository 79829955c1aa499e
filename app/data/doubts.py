"""Messages in doubt (`uncertain`): stale claims marked so, the doubts old enough to ask
the provider about, and settling each one only while it is still the doubt asked about."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.orm import Session

from app.data.claims import HANDED_OVER
from app.data.models import Conversation, Message, Patient, StatusEvent


def mark_stale_uncertain(session: Session, *, claimed_before: datetime, now: datetime) -> int:
    """Rows `sending` since before `claimed_before` become `uncertain`; how many."""
    result = session.execute(
        update(Message)
        .where(Message.status == "sending", Message.claimed_at < claimed_before)
        .values(status="uncertain", error_code="stale", status_updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(Any, result).rowcount or 0)


def settled_doubts(
    session: Session, *, claimed_by: datetime, limit: int
) -> list[Row[int, str, str, datetime | None, int]]:
    """Outbound `uncertain` messages with no provider id, claimed at or before `claimed_by`."""
    rows = session.execute(
        select(
            Message.id,
            Message.to_number,
            Message.body,
            Message.claimed_at,
            Message.attempts,
        )
        .where(
            Message.direction == "out",
            Message.status == "uncertain",
            Message.provider_sid.is_(None),
            Message.claimed_at <= claimed_by,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
    return list(rows)


def sids_sent_to(session: Session, number: str) -> list[str]:
    """Provider ids of every outbound message to `number` that has one."""
    known = session.scalars(
        select(Message.provider_sid).where(
            Message.to_number == number,
            Message.direction == "out",
            Message.provider_sid.is_not(None),
        )
    ).all()
    return [s for s in known if s]


def _still_in_doubt(message_id: int, attempts: int) -> tuple[ColumnElement[bool], ...]:
    # not settled meanwhile by another recovery job, nor sent again and in doubt again
    # (each claim counts an attempt)
    return (
        Message.id == message_id,
        Message.status == "uncertain",
        Message.provider_sid.is_(None),
        Message.attempts == attempts,
    )


def settle_sent(
    session: Session, message_id: int, *, attempts: int, sid: str, now: datetime
) -> bool:
    """The provider had it: record its id; False when no longer the same doubt."""
    result = session.execute(
        update(Message)
        .where(*_still_in_doubt(message_id, attempts))
        .values(
            status="sent", provider_sid=sid, sent_at=now, status_updated_at=now, error_code=None
        )
        .execution_options(synchronize_session=False)
    )
    return bool(cast(Any, result).rowcount)


def requeue(session: Session, message_id: int, *, attempts: int, now: datetime) -> int:
    """The provider never got it: queue it again now; how many rows (0 or 1)."""
    result = session.execute(
        update(Message)
        .where(*_still_in_doubt(message_id, attempts))
        .values(
            status="queued",
            not_before=now,
            claimed_by=None,
            status_updated_at=now,
            error_code="requeued",
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(Any, result).rowcount or 0)


def sids_with_later_receipts(session: Session, later: Collection[str]) -> list[str | None]:
    """Provider ids of messages still `sent` (or handed over) that have a stored status
    callback in `later`."""
    return list(
        session.scalars(
            select(Message.provider_sid)
            .distinct()
            .join(StatusEvent, StatusEvent.provider_sid == Message.provider_sid)
            .where(
                Message.direction == "out",
                Message.status.in_(("sent", *HANDED_OVER)),
                StatusEvent.status.in_(later),
            )
        )
    )


def uncertain_outbound(
    session: Session, practice_ids: Iterable[int] | None, *, limit: int
) -> tuple[int, list[Row[int, str, datetime, str | None, str | None, str]]]:
    """Outbound texts still in doubt, for staff to check: how many, and the oldest
    `limit` as (id, kind, created_at, given name, family name, conversation key).
    `practice_ids` (None: all) scopes them by the patient texted; a text to nobody on a
    practice's list is an admin's."""
    scope = [Message.direction == "out", Message.status == "uncertain"]
    if practice_ids is not None:
        scope.append(Patient.practice_id.in_(list(practice_ids)))
    total = session.scalar(
        select(func.count())
        .select_from(Message)
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .where(*scope)
    )
    rows = session.execute(
        select(
            Message.id,
            Message.kind,
            Message.created_at,
            Patient.given_name,
            Patient.family_name,
            Conversation.key,
        )
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .outerjoin(Conversation, Conversation.number == Message.to_number)
        .where(*scope)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    ).all()
    return int(total or 0), list(rows)
