"""Queueing outbound SMS: the only way a message enters the outbox.

A message is written in the same transaction as whatever caused it (an offer, a booking,
a reply), so it is never lost and never sent for something that was rolled back. Each
message has a `dedupe_key` naming its purpose, so queueing the same purpose twice (a
doubled scheduler, a repeated webhook) leaves one row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.data.models import Message


def queue_message(
    session: Session,
    *,
    to: str,
    body: str,
    kind: str,
    now: datetime,
    dedupe_key: str | None = None,
    from_number: str | None = None,
    in_send_window: bool = True,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    campaign_id: int | None = None,
    patient_id: int | None = None,
    offer_id: int | None = None,
    booking_id: int | None = None,
) -> Message:
    """Add a queued outbound message, or return the one already queued for this purpose.

    Replies to a resident pass `in_send_window=False`: a conversation is answered at any
    hour. Invitations and reminders wait for the campaign's send window.
    """
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    # one statement: ON CONFLICT on the unique dedupe key, so another transaction (or an
    # earlier call) that queued the same purpose wins without a select or a savepoint
    statement = (
        insert(Message)
        .values(
            direction="out",
            kind=kind,
            to_number=to,
            from_number=from_number,
            body=body,
            status="queued",
            dedupe_key=dedupe_key,
            in_send_window=in_send_window,
            not_before=not_before or now,
            expires_at=expires_at,
            campaign_id=campaign_id,
            patient_id=patient_id,
            offer_id=offer_id,
            booking_id=booking_id,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message)
    )
    message = session.scalars(statement).one_or_none()
    if message is not None:
        return message
    # the same purpose was queued before: that message stands
    return session.scalars(select(Message).where(Message.dedupe_key == dedupe_key)).one()
