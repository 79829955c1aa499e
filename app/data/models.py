"""The database schema: typed SQLAlchemy 2.0 models for every table Nudge keeps.

Invariants that matter for patient safety live here as constraints, so they hold on
both SQLite and PostgreSQL whatever the Python code does:
- one open offer per mobile number (partial unique index);
- a slot is held by at most one offer (a single `held_by_offer_id` column) and booked at
  most once (partial unique index on live bookings);
- an outbound message is queued once per purpose (unique `dedupe_key`) and an inbound
  message or provider receipt is stored once (unique provider SID).
"""

from __future__ import annotations

import secrets
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
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.data.base import Base


class Practice(Base):
    __tablename__ = "practice"

    id: Mapped[int] = mapped_column(primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime]


class ImportBatch(Base):
    """One load of a file (patients or slots): who, when, what it did, and its problems."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    kind: Mapped[str] = mapped_column(String(20))  # patients | slots
    file_name: Mapped[str] = mapped_column(String(400))
    imported_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    # patients of the practice the file no longer lists (marked left_list_at)
    left_list: Mapped[int] = mapped_column(default=0, server_default="0")
    # [{"line": 7, "reason": "..."}]; warnings too, capped so a bad file cannot bloat the row
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("practice_id", "nhs_number"),
        Index("ix_patient_mobile", "mobile"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no index of its own: the unique (practice_id, nhs_number) index leads with it, and a
    # second one costs about a second per million imported rows
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    nhs_number: Mapped[str] = mapped_column(String(10))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    # NHS person stated gender code: 1 male, 2 female, 9 indeterminate, 0 not known
    sex: Mapped[str] = mapped_column(String(1), default="0")
    # NHS Data Dictionary Ethnic Category code (A-S, Z, 99) or null when not given
    ethnic_category: Mapped[str | None] = mapped_column(String(2))
    # white | mixed | asian | black | other | not_stated (see app.domain.ethnicity)
    ethnic_group: Mapped[str] = mapped_column(String(20), default="not_stated")
    postcode: Mapped[str | None] = mapped_column(String(10))
    lsoa: Mapped[str | None] = mapped_column(String(12))
    imd_decile: Mapped[int | None] = mapped_column(Integer)
    imd_edition: Mapped[str | None] = mapped_column(String(10))
    mobile: Mapped[str | None] = mapped_column(String(20))  # E.164, only when usable
    # ok | missing | landline | invalid (why `mobile` is null when it is)
    mobile_status: Mapped[str] = mapped_column(String(10), default="missing")
    # canonical exclusion condition names, ';'-joined, '' when none (app.domain.eligibility)
    conditions: Mapped[str] = mapped_column(String(400), default="")
    # condition terms the vocabulary does not know, as written ('; '-joined, '' when
    # none): the patient is held for review (needs_review) until they are resolved
    unrecognised_conditions: Mapped[str] = mapped_column(String(400), default="", server_default="")
    last_health_check: Mapped[date | None] = mapped_column(Date)
    # latest statin issue coded in the GP record: "currently prescribed" depends on the
    # cohort date (app.domain.coded.statin_current), so the date is kept, not a flag
    statin_issued_on: Mapped[date | None] = mapped_column(Date)
    opted_out_at: Mapped[datetime | None]
    # set when a later import of the practice's whole list no longer has them (moved
    # away, died): never invited again; cleared if a later list has them back
    left_list_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    practice: Mapped[Practice] = relationship()


class PhoneNumber(Base):
    """What we know about a mobile number across every practice and campaign.

    STOP (or Twilio error 21610) opts the number out for good; a permanent delivery
    failure marks it not textable. Patients sharing a phone share its state.
    """

    __tablename__ = "phone_number"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out_at: Mapped[datetime | None]
    opt_out_word: Mapped[str | None] = mapped_column(String(40))
    opt_out_source: Mapped[str | None] = mapped_column(String(20))  # sms | provider | staff
    opted_in_at: Mapped[datetime | None]
    not_textable_at: Mapped[datetime | None]
    not_textable_reason: Mapped[str | None] = mapped_column(String(60))
    opt_out_acknowledged_at: Mapped[datetime | None]


class Slot(Base):
    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("practice_id", "location", "starts_at"),
        CheckConstraint("state IN ('free', 'held', 'booked', 'cancelled')", name="state"),
        CheckConstraint("(state = 'held') = (held_by_offer_id IS NOT NULL)", name="held_has_offer"),
        Index("ix_slot_practice_state_start", "practice_id", "state", "starts_at"),
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

    slot: Mapped[Slot] = relationship()
    patient: Mapped[Patient] = relationship()


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


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("role IN ('admin', 'practice', 'analyst')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    set_password_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    set_password_expires_at: Mapped[datetime | None]
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]
    # bumped by sign-out, a password change or reset and disabling the account: a
    # session signed in under an older value is refused on its next request
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # made by `demo load` with a published password: production refuses its sign-in
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    practices: Mapped[list[Practice]] = relationship(secondary="user_practice")


class UserPractice(Base):
    __tablename__ = "user_practice"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), primary_key=True)


class AuditEvent(Base):
    """Who did what and when: sign-ins, denials, slot, campaign and opt-out changes, exports."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(254))  # email, "system", "sms:+4477..."
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class CampaignSnapshot(Base):
    """Aggregate counts kept when personal data is purged after the retention period."""

    __tablename__ = "campaign_snapshot"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    taken_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)


class SchedulerHeartbeat(Base):
    """The last sign of life of each scheduler process, for readiness checks and `status`."""

    __tablename__ = "scheduler_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
