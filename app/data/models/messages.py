"""Every text in or out, the provider's status receipts, and conversations by number."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.data.base import Base


class Message(Base):
    """The outbox and the conversation log: every SMS in or out.

    Outbound life: queued -> sending (claimed, provider being called) -> sent ->
    delivered | undelivered | failed; queued -> cancelled (STOP, expiry); a `sending`
    row whose dispatcher died becomes `uncertain` and is never resent automatically.
    Inbound rows have direction 'in' and status 'received'.
    """

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_message_dispatch", "status", "not_before"),
        Index("ix_message_to_created", "to_number", "created_at"),
        Index("ix_message_from_created", "from_number", "created_at"),
        # inbound texts waiting to be acted on (replies.process_inbound), oldest first
        Index(
            "ix_message_inbound_pending",
            "id",
            sqlite_where=text("direction = 'in' AND processed_at IS NULL"),
            postgresql_where=text("direction = 'in' AND processed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    # invitation | reminder | confirmation | reply | appointment_reminder | ...; '' inbound
    kind: Mapped[str] = mapped_column(String(30), default="")
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    # one message per purpose, e.g. "invitation:offer:42"; makes re-queuing harmless
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(10))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"))
    # does the campaign's send window apply (invitations, reminders) or not (replies)
    in_send_window: Mapped[bool] = mapped_column(Boolean, default=True)
    not_before: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # do not send after this (offer expiry)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    status_updated_at: Mapped[datetime | None]
    # the inbound message's parsed intent, for the conversation view
    intent: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]
    # inbound only: when the replies job acted on it; null = stored, waiting to be acted on
    processed_at: Mapped[datetime | None]
    # inbound only: Twilio's OptOutType (STOP/START/HELP) when Advanced Opt-Out answered
    opt_out_type: Mapped[str | None] = mapped_column(String(10))


class StatusEvent(Base):
    """Each provider status callback as received (they repeat and arrive out of order)."""

    __tablename__ = "status_event"
    __table_args__ = (UniqueConstraint("provider_sid", "status", "error_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[datetime]


def conversation_key() -> str:
    """A random, unguessable address for a conversation's pages (never the number)."""
    return secrets.token_urlsafe(18)


class Conversation(Base):
    """Per-number conversation state: unclear-reply streak and the staff follow-up flag.

    `practice_id` is the practice whose patient the latest attributed text was about, so
    a flag reaches the practice whose offer it answers; `key` addresses its pages.
    """

    __tablename__ = "conversation"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, default=conversation_key)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practice.id"), index=True)
    unclear_streak: Mapped[int] = mapped_column(default=0)
    flagged_at: Mapped[datetime | None]
    flag_reason: Mapped[str | None] = mapped_column(String(40))  # unclear | unknown_sender
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]
