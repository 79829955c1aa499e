"""What each attended NHS Health Check found: outcomes linked to the booking they follow."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.data.base import Base


class CheckOutcome(Base):
    """One outcome of an attended check: a coded result or diagnosis from the GP record
    (source 'events') or what staff recorded when marking it attended (source 'staff').

    `member_id` is the campaign member the check counts for (the booking's offer's member,
    or the member of a staff booking's campaign), so reports group outcomes by member and
    join them to the members they count."""

    __tablename__ = "check_outcome"
    __table_args__ = (
        CheckConstraint("source IN ('events', 'staff')", name="source"),
        Index("ix_check_outcome_member_kind", "member_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_member.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    kind: Mapped[str] = mapped_column(String(20))  # qrisk, systolic_bp, ..., diagnosis
    cluster: Mapped[str | None] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(18))
    value: Mapped[float | None] = mapped_column(Float)
    recorded_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
