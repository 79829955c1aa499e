"""A practice's list of patients: who left it (a re-import of the whole list marks those it
no longer has and stops inviting them; nothing is deleted, a later list brings them back),
and campaign members held for review while a patient has a condition term the vocabulary
does not know."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, ColumnElement, String, Table, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from app.data import bulk
from app.data.models import CampaignMember, Offer, Patient, Practice
from app.data.offers import close_open_offers
from app.domain import eligibility

# Every NHS number the file lists, for marking the practice's patients it does not.
LISTED = bulk.temporary_table("import_listed", Column("nhs_number", String(10), primary_key=True))


def listed_count(session: Session, practice_id: int) -> int:
    """How many of the practice's patients are on its list now."""
    listed = select(func.count()).where(
        Patient.practice_id == practice_id, Patient.left_list_at.is_(None)
    )
    return int(session.scalar(listed) or 0)


def mark_left(session: Session, practice_id: int, listed: dict[int, int], now: datetime) -> int:
    """Mark the practice's patients whose NHS numbers the file does not list; stop inviting them.

    The numbers go to a temporary table (one bulk insert) and one anti-join UPDATE marks
    the rest. Every patient of the practice who has left then loses their open offers
    (held slots go back), queued invitations and reminders, and their place in
    campaigns that have not invited them yet.
    """
    conn = session.connection()
    LISTED.create(conn)
    bulk.insert_rows(conn, LISTED, ("nhs_number",), ((f"{n:010d}",) for n in listed))
    still_listed = select(LISTED.c.nhs_number).where(LISTED.c.nhs_number == Patient.nhs_number)
    marked = session.execute(
        update(Patient)
        .where(
            Patient.practice_id == practice_id,
            Patient.left_list_at.is_(None),
            ~still_listed.exists(),
        )
        .values(left_list_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    LISTED.drop(conn)
    left = cast(Any, marked).rowcount or 0
    gone = select(Patient.id).where(
        Patient.practice_id == practice_id, Patient.left_list_at.is_not(None)
    )
    if left:
        # closing an offer also cancels its queued invitation and reminder
        close_open_offers(session, Offer.patient_id.in_(gone), state="withdrawn", now=now)
        session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.patient_id.in_(gone),
                CampaignMember.state.in_(("waiting", "needs_review")),
            )
            .values(state="removed", updated_at=now)
        )
    return int(left)


def sync_holds(session: Session, patients: ColumnElement[bool], *, now: datetime) -> None:
    """Bring campaign members of the `patients` in line with their unrecognised terms.

    A waiting member whose patient now has one is held (needs_review); a held member
    whose patient has none any more is released: removed when a known exclusion
    condition took its place, else back to waiting (or not_textable, as approved).
    """
    held = select(Patient.id).where(patients, Patient.unrecognised_conditions != "")
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.state == "waiting", CampaignMember.patient_id.in_(held))
        .values(state="needs_review", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    resolved = select(Patient.id).where(patients, Patient.unrecognised_conditions == "")
    excluded = select(Patient.id).where(
        patients, Patient.unrecognised_conditions == "", Patient.conditions != ""
    )
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.state == "needs_review", CampaignMember.patient_id.in_(resolved))
        .values(
            state=case(
                (CampaignMember.patient_id.in_(excluded), "removed"),
                (CampaignMember.cohort_status == eligibility.NOT_TEXTABLE, "not_textable"),
                else_="waiting",
            ),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def held_patients(session: Session, scope: ColumnElement[bool]) -> list[tuple[int, str, str]]:
    """(id, canonical conditions, stored unrecognised terms) of the patients in `scope`."""
    rows = session.execute(
        select(Patient.id, Patient.conditions, Patient.unrecognised_conditions).where(scope)
    )
    return [(pid, conditions, stored) for pid, conditions, stored in rows]


def store_conditions(session: Session, changes: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """Write each patient's re-read terms (`pid`, `found`, `unknown`) in one statement."""
    table = cast(Table, Patient.__table__)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values(
            conditions=bindparam("found"),
            unrecognised_conditions=bindparam("unknown"),
            updated_at=now,
        ),
        list(changes),
    )


def lock_for_import(session: Session, practice_id: int) -> None:
    """One import of a practice at a time: a second waits here until the first has
    committed (FOR NO KEY UPDATE leaves foreign-key checks on the practice row, such as
    new slots, unblocked)."""
    session.execute(
        select(Practice.id).where(Practice.id == practice_id).with_for_update(key_share=True)
    )


def has_patients(session: Session, practice_id: int) -> bool:
    return bool(
        session.scalar(
            select(select(Patient.id).where(Patient.practice_id == practice_id).exists())
        )
    )


def patient_count(session: Session, practice_id: int) -> int:
    """How many patients the practice has, on its list or not."""
    count = session.scalar(
        select(func.count()).select_from(Patient).where(Patient.practice_id == practice_id)
    )
    return int(count or 0)
