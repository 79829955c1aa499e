"""Campaigns, their practices and members, and the cohort snapshot taken at approval."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.data.base import Base
from app.data.models.people import Practice


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'active', 'paused', 'closed')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    reference_date: Mapped[date] = mapped_column(Date)
    lawful_basis: Mapped[str] = mapped_column(Text)
    # {"control": 1, "deadline": 1}: variant name -> allocation weight
    variants: Mapped[dict[str, int]] = mapped_column(JSON)
    control_variant: Mapped[str] = mapped_column(String(60))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    hold_hours: Mapped[int] = mapped_column(default=48)
    min_notice_hours: Mapped[int] = mapped_column(default=12)
    send_window_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    send_window_end: Mapped[time] = mapped_column(Time, default=time(19, 0))
    send_days: Mapped[str] = mapped_column(String(30), default="mon-sat")
    max_invitations: Mapped[int] = mapped_column(default=2)
    reminder_hours: Mapped[int] = mapped_column(default=24)
    info_url: Mapped[str | None] = mapped_column(String(400))
    priority: Mapped[str] = mapped_column(String(60), default="imd_then_never_invited")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    # when the members' funnel stamps were last brought up to date (for reports)
    progress_refreshed_at: Mapped[datetime | None]

    practices: Mapped[list[Practice]] = relationship(secondary="campaign_practice")


class CampaignPractice(Base):
    __tablename__ = "campaign_practice"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), primary_key=True)


class CampaignMember(Base):
    """A patient in an approved campaign's cohort: their trial arm and where they are.

    The arm (variant) is allocated once, at approval, so the trial is analysed by
    intention to treat; every offer to the member copies it.
    """

    __tablename__ = "campaign_member"
    __table_args__ = (
        UniqueConstraint("campaign_id", "patient_id"),
        CheckConstraint(
            "state IN ('waiting', 'offered', 'booked', 'declined', 'exhausted',"
            " 'opted_out', 'not_textable', 'needs_review', 'removed')",
            name="state",
        ),
        Index("ix_campaign_member_campaign_state", "campaign_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    # cohort status at approval: eligible | not_textable
    cohort_status: Mapped[str] = mapped_column(String(20), default="eligible")
    variant: Mapped[str | None] = mapped_column(String(60))
    priority_rank: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    invitations: Mapped[int] = mapped_column(default=0)
    # snapshot of the reporting dimensions at approval, so reports survive the purge
    age_band: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(1))
    ethnic_group: Mapped[str | None] = mapped_column(String(20))
    ethnic_category: Mapped[str | None] = mapped_column(String(2))
    imd_quintile: Mapped[int | None] = mapped_column(Integer)
    # the language texts went in and the interpreter flag, at approval (null: before
    # languages were recorded)
    language: Mapped[str | None] = mapped_column(String(5))
    interpreter_needed: Mapped[bool | None] = mapped_column(Boolean)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practice.id"))
    declined_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # funnel stamps: filled set-based by app.data.report_stamps.refresh_progress from
    # offers, messages and bookings, so the funnel survives the retention purge of those rows
    invited_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    undeliverable_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    booked_at: Mapped[datetime | None]
    attended_at: Mapped[datetime | None]


class CampaignSnapshot(Base):
    """Aggregate counts kept when personal data is purged after the retention period."""

    __tablename__ = "campaign_snapshot"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    taken_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
