"""Provider receipts: moving an outbound message's status up by its provider id, the
callbacks stored before that id was known, and whether an inbound text is stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from app.data.models import Message, StatusEvent


def move_status_up(
    session: Session,
    provider_sid: str,
    *,
    status: str,
    error_code: str | None,
    from_statuses: Sequence[str],
    now: datetime,
) -> str | None:
    """Set the outbound message's status if it is one of `from_statuses` (lower ranks);
    its number, or None when there is no such message or it is already further on."""
    return session.scalar(
        update(Message)
        .where(Message.provider_sid == provider_sid, Message.direction == "out")
        .where(Message.status.in_(from_statuses))
        .values(status=status, error_code=error_code, status_updated_at=now)
        .returning(Message.to_number)
        .execution_options(synchronize_session=False)
    )


def number_of(session: Session, provider_sid: str) -> str | None:
    return session.scalar(select(Message.to_number).where(Message.provider_sid == provider_sid))


def stored_events(session: Session, provider_sid: str) -> Sequence[Row[str, str | None]]:
    """Status callbacks stored for this provider id, in arrival order."""
    return session.execute(
        select(StatusEvent.status, StatusEvent.error_code)
        .where(StatusEvent.provider_sid == provider_sid)
        .order_by(StatusEvent.id)
    ).all()


def inbound_stored(session: Session, provider_sid: str) -> bool:
    found = session.scalar(
        select(Message.id).where(Message.provider_sid == provider_sid, Message.direction == "in")
    )
    return found is not None


def awaiting_receipt(
    session: Session, *, sid_prefix: str, sent_by: datetime, limit: int
) -> list[tuple[str, str]]:
    """(provider id, number) of outbound texts a provider took (`sid_prefix`) by `sent_by`
    that no delivery receipt has yet moved past `sent`, oldest first."""
    rows = session.execute(
        select(Message.provider_sid, Message.to_number)
        .where(Message.direction == "out", Message.status == "sent")
        .where(Message.provider_sid.startswith(sid_prefix, autoescape=True))
        .where(Message.sent_at <= sent_by)
        .order_by(Message.id)
        .limit(limit)
    ).all()
    return [(str(sid), number) for sid, number in rows]
