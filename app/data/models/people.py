"""Practices, their patients as imported, and the mobile numbers they use."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
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
    # the local authority commissioning its NHS Health Checks (the quarterly return)
    local_authority: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    # where the diary's slots come from: "nudge" (CSV files and patterns typed in by
    # staff) or "gpconnect" (the practice's own appointment book, searched and booked
    # through GP Connect Appointment Management)
    slot_source: Mapped[str] = mapped_column(String(10), default="nudge", server_default="nudge")
    gpconnect_url: Mapped[str | None] = mapped_column(String(400))  # the FHIR service root
    gpconnect_provider_asid: Mapped[str | None] = mapped_column(String(20))
    # the responsible user the practice names: every request carries them (the
    # specification allows no generic system user)
    gpconnect_user_id: Mapped[str | None] = mapped_column(String(100))
    gpconnect_user_name: Mapped[str | None] = mapped_column(String(200))
    slots_synced_at: Mapped[datetime | None]
    slots_sync_error: Mapped[str | None] = mapped_column(String(400))


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
    # ISO 639-1 code of the language texts go in (app.domain.languages); 'en' by default
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opted_out_at: Mapped[datetime | None]
    # set when a later import of the practice's whole list no longer has them (moved
    # away, died): never invited again; cleared if a later list has them back
    left_list_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # the patient's logical id in the practice's GP Connect provider, found once by NHS
    # number so a booking costs one round trip
    gpconnect_patient_id: Mapped[str | None] = mapped_column(String(100))

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
