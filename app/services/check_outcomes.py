"""Check outcomes: linking what an events file shows after each attended check, and
what staff record when marking a check attended (rules in app.domain.outcomes).

An events file read for a list import keeps its possible outcomes only from the
practice's first attended check (most practices importing a list have none yet, and a
file of millions of rows then keeps nothing extra); the list import reads the file and
links them in its one transaction, replacing what an earlier events file linked for those patients.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from app.clock import LONDON, as_utc
from app.data import outcomes as outcome_data
from app.data.db import Database
from app.domain.outcomes import Check, Entry, link, staff_values
from app.services.coded_events import EventsRead, read_events
from app.settings import Settings


def _london_day(at: datetime) -> date:
    return as_utc(at).astimezone(LONDON).date()


def read_events_for_import(
    session: Session,
    source: str | Path | IO[str],
    *,
    practice_id: int,
    now: datetime,
    name: str | None,
    settings: Settings,
) -> EventsRead:
    """An events file read inside a practice's list import, keeping possible outcomes
    from the practice's first attended check."""
    first = outcome_data.first_attended_at(session, practice_id)
    read = read_events(
        source, today=now.astimezone(LONDON).date(), name=name,
        outcomes_since=None if first is None else _london_day(first),
    )  # fmt: skip
    read.outcome_window_days = settings.outcome_window_days
    return read


def link_events(session: Session, practice_id: int, coded: EventsRead, *, now: datetime) -> int:
    """Link the events' outcomes to the practice's attended checks; how many were linked.

    Every check of a patient the file names loses what an earlier file linked to it (the
    file is the whole record), whether or not this one has outcomes for it."""
    checks: dict[int, list[Check]] = defaultdict(list)
    patients: dict[int, int] = {}
    attended = outcome_data.attended_checks(session, practice_id)
    named = coded.names(int(nhs) for nhs, *_ in attended) if attended else set()
    for nhs, patient_id, booking_id, member_id, starts_at in attended:
        number = int(nhs)
        if number in named:
            checks[number].append(Check(booking_id, member_id, _london_day(starts_at)))
            patients[number] = patient_id
    rows: list[dict[str, Any]] = []
    for number, patient_checks in checks.items():
        record = coded.codes.get(number)
        if record is None:
            continue
        entries = [Entry(*e) for e in record.outcomes or ()]
        for o in link(
            entries,
            patient_checks,
            window_days=coded.outcome_window_days,
            first_coded=record.first or {},
        ):
            rows.append(
                {
                    "booking_id": o.booking_id, "member_id": o.member_id,
                    "patient_id": patients[number], "kind": o.kind, "cluster": o.cluster,
                    "code": o.code, "value": o.value, "recorded_on": o.on,
                    "source": "events", "created_at": now,
                }
            )  # fmt: skip
    outcome_data.replace_event_outcomes(
        session, [c.booking_id for cs in checks.values() for c in cs], rows
    )
    return len(rows)


def record_staff_outcome(
    session: Session,
    booking_id: int,
    *,
    qrisk_band: str | None,
    bp_high: str | None,
    referred: str | None,
    now: datetime,
) -> dict[str, float]:
    """What staff chose when marking a check attended replaces what they chose before;
    raises OutcomeError for a value the form does not offer."""
    values = staff_values(qrisk_band, bp_high, referred)
    row = outcome_data.check_of(session, booking_id)
    if row is None:
        return values
    patient_id, member_id, starts_at = row
    outcome_data.replace_staff_outcomes(
        session, booking_id, values, member_id=member_id, patient_id=patient_id,
        on=_london_day(starts_at), now=now,
    )  # fmt: skip
    return values


def staff_outcomes(db: Database, booking_ids: list[int]) -> dict[int, dict[str, float]]:
    """booking id -> what staff recorded (for the attendance page)."""
    with db.transaction() as session:
        return outcome_data.staff_outcomes(session, booking_ids)
