"""Appointment slots: loading them (CSV or a recurring pattern) and cancelling one.

Rules ("Slots"): a slot is entered in Europe/London wall time and stored in UTC;
a slot in the past, a bad row, or one overlapping another slot of the same location
(in the same file or already in the diary) is rejected with its line number, like the
patient import, and the good rows are loaded. Loading the same file twice changes
nothing: a row identical to a live slot counts as unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.clock import LONDON, as_utc
from app.data import history, messages
from app.data import offers as offer_data
from app.data import slots as slot_data
from app.data.db import Database
from app.data.models import ImportBatch, Offer, Practice, Slot
from app.data.offers import close_open_offers
from app.domain import diary_range
from app.domain.slot_rows import (
    COLUMNS,
    MAX_DURATION_MINUTES,
    SlotError,
    SlotImportReport,
    SlotRow,
    london_to_utc,
    parse_csv,
    read_upload,
)
from app.services import audit, texts
from app.settings import Settings

__all__ = [
    "COLUMNS",
    "MAX_DURATION_MINUTES",
    "SlotError",
    "SlotImportReport",
    "SlotRow",
    "RowCheck",
    "add_slots",
    "cancel_slot",
    "check_pattern",
    "generate_pattern",
    "import_slots",
    "london_to_utc",
    "parse_csv",
    "read_upload",
    "save_pattern",
]


@dataclass(frozen=True)
class _Interval:
    starts_at: datetime
    ends_at: datetime
    line: int | None  # None: already in the diary


def _overlap_problems(
    session: Session, practice_id: int, rows: Sequence[tuple[SlotRow, datetime]]
) -> tuple[dict[int, str], set[int]]:
    """Rows to reject (line -> reason) and rows identical to a live slot (unchanged)."""
    if not rows:
        return {}, set()
    lo = min(s for _, s in rows) - timedelta(minutes=MAX_DURATION_MINUTES)
    hi = max(s + timedelta(minutes=r.duration_minutes) for r, s in rows)
    existing = slot_data.live_slots_between(session, practice_id, lo, hi)
    by_location: dict[str, list[_Interval]] = defaultdict(list)
    identical: set[tuple[str, datetime, int]] = set()
    for location, starts_at, duration in existing:
        starts_at = as_utc(starts_at)
        by_location[location].append(
            _Interval(starts_at, starts_at + timedelta(minutes=duration), None)
        )
        identical.add((location, starts_at, duration))
    rejected: dict[int, str] = {}
    unchanged: set[int] = set()
    for row, starts_at in rows:
        if (row.location, starts_at, row.duration_minutes) in identical:
            unchanged.add(row.line)
            identical.discard((row.location, starts_at, row.duration_minutes))
            continue
        by_location[row.location].append(
            _Interval(starts_at, starts_at + timedelta(minutes=row.duration_minutes), row.line)
        )
    for location, intervals in by_location.items():
        intervals.sort(key=lambda i: (i.starts_at, i.line is not None, i.line or 0))
        latest: _Interval | None = None  # the interval reaching furthest so far
        for interval in intervals:
            if latest is not None and interval.starts_at < latest.ends_at:
                what = f"line {latest.line}" if latest.line is not None else "a slot already loaded"
                when = latest.starts_at.astimezone(LONDON)
                if interval.line is not None:
                    rejected[interval.line] = (
                        f"overlaps {what} at {location} ({when:%Y-%m-%d %H:%M})"
                    )
                    continue  # a rejected row blocks nothing after it
            if latest is None or interval.ends_at > latest.ends_at:
                latest = interval
    return rejected, unchanged


@dataclass
class RowCheck:
    """What saving rows would do: add `new`, leave `unchanged` (identical slots already
    in the diary), and refuse `past` and `refused` (with the reason)."""

    new: list[tuple[SlotRow, datetime]] = field(default_factory=list)
    unchanged: list[SlotRow] = field(default_factory=list)
    past: list[SlotRow] = field(default_factory=list)
    refused: list[tuple[SlotRow, str]] = field(default_factory=list)


def check_rows(
    session: Session, *, practice_id: int, rows: Iterable[SlotRow], now: datetime
) -> RowCheck:
    """Sort slot rows by what saving them would do; changes nothing."""
    check = RowCheck()
    timed: list[tuple[SlotRow, datetime]] = []
    for row in rows:
        try:
            starts_at = london_to_utc(row.day, row.start)
        except ValueError as error:
            check.refused.append((row, str(error)))
            continue
        if starts_at <= now:
            check.past.append(row)
            continue
        timed.append((row, starts_at))
    rejected, unchanged = _overlap_problems(session, practice_id, timed)
    for row, starts_at in timed:
        if row.line in rejected:
            check.refused.append((row, rejected[row.line]))
        elif row.line in unchanged:
            check.unchanged.append(row)
        else:
            check.new.append((row, starts_at))
    return check


def add_slots(
    session: Session,
    *,
    practice_id: int,
    rows: Iterable[SlotRow],
    now: datetime,
    report: SlotImportReport,
    batch_id: int | None = None,
) -> SlotImportReport:
    """Validate and insert slot rows in the caller's transaction (set-based)."""
    check = check_rows(session, practice_id=practice_id, rows=rows, now=now)
    for row in check.past:
        report.reject(row.line, f"{row.day} {row.start:%H:%M} is in the past")
    for row, reason in check.refused:
        report.reject(row.line, reason)
    report.unchanged += len(check.unchanged)
    new_rows = [
        {
            "practice_id": practice_id,
            "starts_at": starts_at,
            "duration_minutes": row.duration_minutes,
            "location": row.location,
            "state": "free",
            "import_batch_id": batch_id,
            "created_at": now,
        }
        for row, starts_at in check.new
    ]
    if new_rows:
        slot_data.insert_slots(session, new_rows)
    report.added += len(new_rows)
    report.problems.sort(key=lambda p: p["line"])
    return report


def practice_by_ods(session: Session, ods_code: str) -> Practice:
    practice = slot_data.practice_with_ods(session, ods_code)
    if practice is None:
        raise SlotError(f"No practice with ODS code {ods_code!r}")
    return practice


def _save(
    db: Database,
    *,
    practice_id: int | None,
    ods_code: str | None,
    file_name: str,
    actor: str,
    now: datetime,
    parse: Any,
) -> SlotImportReport:
    report = SlotImportReport()
    with db.transaction() as session:
        if practice_id is None:
            practice_id = practice_by_ods(session, ods_code or "").id
        rows = parse(report)
        batch = ImportBatch(
            practice_id=practice_id,
            kind="slots",
            file_name=file_name[:400],
            imported_by=actor,
            started_at=now,
        )
        session.add(batch)
        session.flush()
        add_slots(
            session, practice_id=practice_id, rows=rows, now=now, report=report, batch_id=batch.id
        )
        batch.rows, batch.added = report.rows, report.added
        batch.unchanged, batch.rejected = report.unchanged, report.rejected
        batch.problems = report.problems
        batch.finished_at = now
        report.batch_id = batch.id
        audit.record(
            session,
            now=now,
            actor=actor,
            action="slots.import",
            target=f"practice:{practice_id}",
            detail={"batch": batch.id, "added": report.added, "rejected": report.rejected},
        )
    return report


def import_slots(
    db: Database,
    text: str,
    *,
    now: datetime,
    ods_code: str | None = None,
    practice_id: int | None = None,
    file_name: str = "slots.csv",
    actor: str = "system",
) -> SlotImportReport:
    """Load a `date,start,duration_minutes,location` CSV for one practice: one transaction."""
    return _save(
        db,
        practice_id=practice_id,
        ods_code=ods_code,
        file_name=file_name,
        actor=actor,
        now=now,
        parse=lambda report: parse_csv(text, report),
    )


def generate_pattern(
    *,
    first_day: date,
    last_day: date,
    weekdays: Iterable[int],
    day_start: time,
    day_end: time,
    duration_minutes: int,
    location: str,
    gap_minutes: int = 0,
) -> list[SlotRow]:
    """Slots for a recurring pattern (e.g. Tue and Thu 09:00-12:00, 20 minutes): a preview.

    Times are London wall times, so a 09:00 clinic stays at 09:00 across a clock change.
    `line` numbers the generated slots from 1 so problems can point at one.
    """
    if duration_minutes < 1 or gap_minutes < 0:
        raise SlotError(
            "Appointment length must be at least a minute, and the gap between "
            "appointments 0 or more"
        )
    if last_day < first_day:
        raise SlotError("The last day is before the first day")
    if not (diary_range.covers(first_day) and diary_range.covers(last_day)):
        raise SlotError(f"The pattern is outside the diary: {diary_range.RANGE_HELP}")
    if (last_day - first_day).days > 366:
        raise SlotError("A pattern may cover at most a year")
    days = set(weekdays)
    step = duration_minutes + gap_minutes
    start_minute = day_start.hour * 60 + day_start.minute
    end_minute = day_end.hour * 60 + day_end.minute
    rows: list[SlotRow] = []
    day = first_day
    while day <= last_day:
        if day.weekday() in days:
            minute = start_minute
            while minute + duration_minutes <= end_minute:
                rows.append(
                    SlotRow(
                        len(rows) + 1,
                        day,
                        time(minute // 60, minute % 60),
                        duration_minutes,
                        location,
                    )
                )
                minute += step
        day += timedelta(days=1)
    return rows


def check_pattern(
    db: Database, rows: Sequence[SlotRow], *, practice_id: int, now: datetime
) -> RowCheck:
    """What saving a pattern would do now, for its preview (the same checks as saving)."""
    with db.sessions() as session:
        return check_rows(session, practice_id=practice_id, rows=rows, now=now)


def save_pattern(
    db: Database,
    rows: Sequence[SlotRow],
    *,
    practice_id: int,
    now: datetime,
    actor: str,
    description: str = "recurring pattern",
) -> SlotImportReport:
    """Save a previewed pattern with the same checks as a file import."""

    def parse(report: SlotImportReport) -> list[SlotRow]:
        report.rows = len(rows)
        return list(rows)

    return _save(
        db,
        practice_id=practice_id,
        ods_code=None,
        file_name=description,
        actor=actor,
        now=now,
        parse=parse,
    )


def cancel_slot(
    db: Database, slot_id: int, *, now: datetime, actor: str, settings: Settings = Settings()
) -> str:
    """Cancel a free or held slot; returns what happened: `cancelled` or `withdrawn`.

    A held slot's offer is withdrawn (its other holds released, its queued messages
    cancelled), the patient is told if the invitation already went out, and they go
    back to waiting: the practice changed its diary, so the lost offer does not count
    against their invitation limit. A booked slot is refused: cancel the booking first
    (app.services.booking), which tells the patient.
    """
    with db.transaction() as session:
        slot = session.get(Slot, slot_id, with_for_update=True)
        if slot is None:
            raise SlotError(f"No slot {slot_id}")
        outcome = "cancelled"
        if slot.state == "booked":
            raise SlotError("This slot is booked: cancel the booking first")
        if slot.state == "cancelled":
            return "cancelled"
        if slot.state == "held" and slot.held_by_offer_id is not None:
            outcome = "withdrawn"
            _withdraw_offer(session, slot.held_by_offer_id, now=now, settings=settings)
        if not slot_data.retire_free_slot(session, slot_id):
            raise SlotError("The slot changed while cancelling it; try again")
        audit.record(
            session,
            now=now,
            actor=actor,
            action="slot.cancel",
            target=f"slot:{slot_id}",
            detail={"outcome": outcome},
        )
        return outcome


def _withdraw_offer(session: Session, offer_id: int, *, now: datetime, settings: Settings) -> None:
    if not close_open_offers(session, Offer.id == offer_id, state="withdrawn", now=now):
        return
    offer = session.get(Offer, offer_id)
    assert offer is not None
    offer_data.return_member_uncounted(session, offer.member_id, now=now)
    if not offer_data.invitation_went_out(session, offer_id):
        return  # they never heard of it
    practice = history.practice_of(session, offer.patient_id)
    practice_name = practice.name if practice is not None else None
    messages.queue(
        session,
        messages.OutboundText(
            to=offer.mobile,
            body=texts.render_for(
                session,
                offer.patient_id,
                "withdrawn",
                settings=settings,
                practice_name=practice_name or "Your GP practice",
            ),
            kind="withdrawn",
            dedupe_key=f"withdrawn:offer:{offer_id}",
            campaign_id=offer.campaign_id,
            patient_id=offer.patient_id,
            offer_id=offer_id,
        ),
        now=now,
    )
