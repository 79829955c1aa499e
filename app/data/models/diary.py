"""Slots in practice diaries, the offers that hold them and the bookings made from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.data.base import Base
from app.data.models.people import Patient


class Slot(Base):
    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("practice_id", "location", "starts_at"),
        CheckConstraint("state IN ('free', 'held', 'booked', 'cancelled')", name="state"),
        CheckConstraint("(state = 'held') = (held_by_offer_id IS NOT NULL)", name="held_has_offer"),
        Index("ix_slot_practice_state_start", "practice_id", "state", "starts_at"),
        Index("uq_slot_gpconnect_id", "practice_id", "gpconnect_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    starts_at: Mapped[datetime]  # UTC; entered and shown in Europe/London
    duration_minutes: Mapped[int]
    location: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="free")
    held_by_offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offer.id", use_alter=True), index=True
    )
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    created_at: Mapped[datetime]
    # GP Connect slots: the provider's logical id and what its search said about it
    gpconnect_id: Mapped[str | None] = mapped_column(String(100))
    delivery_channel: Mapped[str | None] = mapped_column(String(40))
    service_type: Mapped[str | None] = mapped_column(String(200))
    practitioner: Mapped[str | None] = mapped_column(String(200))
    # when a held GP Connect slot stopped appearing in the practice's free slots (their
    # reception gave it away): staff are told, and the resident told when they pick it
    gone_at: Mapped[datetime | None]


class Offer(Base):
    """An invitation holding three slots for one patient until `expires_at`."""

    __tablename__ = "offer"
    __table_args__ = (
        CheckConstraint(
            "state IN ('open', 'booked', 'expired', 'declined', 'withdrawn')", name="state"
        ),
        # a reply of "2" must never be ambiguous: one open offer per number
        Index(
            "uq_offer_open_mobile",
            "mobile",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_offer_state_expires", "state", "expires_at"),
        UniqueConstraint("member_id", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("campaign_member.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    mobile: Mapped[str] = mapped_column(String(20))
    variant: Mapped[str] = mapped_column(String(60))
    sequence: Mapped[int] = mapped_column(default=1)  # 1st, 2nd ... invitation to the member
    state: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    reminder_due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # a choice being booked in the practice's GP Connect provider, before Nudge books it:
    # pending (a call is under way) | booked | refused (the time has gone) | unknown (no
    # answer: the patient's appointments are checked before anything is retried)
    gp_state: Mapped[str | None] = mapped_column(String(10))
    gp_slot_id: Mapped[int | None] = mapped_column(ForeignKey("slot.id", use_alter=True))
    gp_appointment_id: Mapped[str | None] = mapped_column(String(100))
    gp_started_at: Mapped[datetime | None]

    slots: Mapped[list[OfferSlot]] = relationship(order_by="OfferSlot.position")


class OfferSlot(Base):
    __tablename__ = "offer_slot"
    __table_args__ = (
        CheckConstraint("position BETWEEN 1 AND 3", name="position"),
        UniqueConstraint("offer_id", "slot_id"),
    )

    offer_id: Mapped[int] = mapped_column(ForeignKey("offer.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"), index=True)

    slot: Mapped[Slot] = relationship()


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(
            "state IN ('booked', 'cancelled', 'attended', 'did_not_attend')", name="state"
        ),
        # never double-booked: one live booking per slot, one per offer
        Index(
            "uq_booking_live_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("state != 'cancelled'"),
            postgresql_where=text("state != 'cancelled'"),
        ),
        Index(
            "uq_booking_live_offer",
            "offer_id",
            unique=True,
            sqlite_where=text("state != 'cancelled' AND offer_id IS NOT NULL"),
            postgresql_where=text("state != 'cancelled' AND offer_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="booked")
    source: Mapped[str] = mapped_column(String(10), default="sms")  # sms | staff
    booked_at: Mapped[datetime]
    booked_by: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None]
    outcome_recorded_at: Mapped[datetime | None]
    outcome_recorded_by: Mapped[str | None] = mapped_column(String(200))
    # unguessable token for /c/<token>.ics; reveals nothing by itself
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)
    appointment_reminder_due_at: Mapped[datetime | None]
    # the appointment in the practice's own book (GP Connect), and its state there:
    # booked | cancelling (a cancellation is under way) | cancelled
    gpconnect_appointment_id: Mapped[str | None] = mapped_column(String(100))
    gp_state: Mapped[str | None] = mapped_column(String(20))
    gp_changed_at: Mapped[datetime | None]  # when gp_state last changed
    # what staff must sort out by hand (a cancellation the GP system refused, an
    # appointment cancelled at the practice), None when nothing
    attention: Mapped[str | None] = mapped_column(String(300))
    attention_at: Mapped[datetime | None]

    slot: Mapped[Slot] = relationship()
    patient: Mapped[Patient] = relationship()
