"""Patients who left the practice list: a re-import of the whole list marks those it no
longer has and stops inviting them (nothing is deleted; a later list brings them back)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, String, func, select, update
from sqlalchemy.orm import Session

from app.data import bulk
from app.data.models import CampaignMember, Offer, Patient
from app.data.offers import close_open_offers

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
