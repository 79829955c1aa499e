"""Patients held for review: a condition the vocabulary does not know holds a patient
(status needs_review) until it is resolved, by a re-import of the practice's list once the
GP record says what it is, or by the term being added to the vocabulary
(`app.domain.eligibility`) and the stored terms read again (`recheck`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement

from app.data import patient_list
from app.data.db import Database
from app.data.models import Patient
from app.domain import eligibility
from app.services import audit
from app.services.practices import require_by_ods


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
        rows = patient_list.held_patients(session, scope)
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
            patient_list.store_conditions(session, changes, now=now)
            changed_ids = [c["pid"] for c in changes]
            patient_list.sync_holds(session, Patient.id.in_(changed_ids), now=now)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="patients.conditions_rechecked",
            target=f"practice:{practice_ods}" if practice_ods else "all",
            detail={"changed": len(changes), "still_held": still_held},
        )
    return RecheckResult(len(changes), still_held)
