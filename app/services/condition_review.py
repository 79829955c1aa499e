"""Patients held for review: a condition the vocabulary does not know holds a patient
(status needs_review) until it is resolved, by a re-import of the practice's list once the
GP record says what it is, or by the term being added to the vocabulary
(`app.domain.eligibility`) and the stored terms read again (`recheck`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, case, select, update
from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import CampaignMember, Patient
from app.domain import eligibility
from app.services import audit
from app.services.practices import require_by_ods


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


@dataclass(frozen=True)
class RecheckResult:
    changed: int  # patients whose stored terms the vocabulary now reads differently
    still_held: int  # patients who still have a term it does not know


def recheck(
    db: Database, *, now: datetime, practice_ods: str | None = None, actor: str = "system"
) -> RecheckResult:
    """Read every held patient's unrecognised terms again against the vocabulary (after
    terms were added to it), move recognised ones to their rule and release who is clear."""
    with db.transaction() as session:
        scope: ColumnElement[bool] = Patient.unrecognised_conditions != ""
        if practice_ods is not None:
            scope = scope & (Patient.practice_id == require_by_ods(session, practice_ods).id)
        rows = session.execute(
            select(Patient.id, Patient.conditions, Patient.unrecognised_conditions).where(scope)
        ).all()
        changes = []
        still_held = 0
        for patient_id, conditions, stored in rows:
            terms = eligibility.split_unrecognised(stored)
            parsed = eligibility.parse_conditions(";".join([*conditions.split(";"), *terms]))
            unrecognised = eligibility.join_unrecognised(parsed.unknown)
            still_held += bool(unrecognised)
            if (parsed.canonical, unrecognised) != (conditions, stored):
                changes.append(
                    {"pid": patient_id, "found": parsed.canonical, "unknown": unrecognised}
                )
        if changes:
            table = cast(Table, Patient.__table__)
            session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("pid"))
                .values(
                    conditions=bindparam("found"),
                    unrecognised_conditions=bindparam("unknown"),
                    updated_at=now,
                ),
                changes,
            )
            changed_ids = [c["pid"] for c in changes]
            sync_holds(session, Patient.id.in_(changed_ids), now=now)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="patients.conditions_rechecked",
            target=f"practice:{practice_ods}" if practice_ods else "all",
            detail={"changed": len(changes), "still_held": still_held},
        )
    return RecheckResult(len(changes), still_held)
