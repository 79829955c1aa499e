"""Slot rows as staff enter them (a CSV file or a pattern): parsed and checked, line by
line, in Europe/London wall time; a bad row is rejected with its line number."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import LONDON
from app.domain import diary_range
from app.domain.text_files import TextFileError, decode_text

COLUMNS = ("date", "start", "duration_minutes", "location")
MAX_DURATION_MINUTES = 8 * 60
MAX_PROBLEMS = 500  # kept on the batch row; a bad file cannot bloat it


class SlotError(ValueError):
    """A request about slots that cannot be done (unknown practice, booked slot...)."""


@dataclass(frozen=True)
class SlotRow:
    """One slot to add, in London wall time as staff entered it."""

    line: int
    day: date
    start: time
    duration_minutes: int
    location: str


@dataclass
class SlotImportReport:
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    batch_id: int | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"line": line, "reason": reason})


def london_to_utc(day: date, start: time) -> datetime:
    """The UTC instant of a London wall time, refusing times the clocks skip or repeat.

    On the last Sunday of March 01:00-01:59 never happens; on the last Sunday of October
    it happens twice. A clinic slot then is a typo; guessing would put a patient at the
    door an hour early or late, so both are rejected.
    """
    local = datetime.combine(day, start, tzinfo=LONDON)
    utc = local.astimezone(ZoneInfo("UTC"))
    if utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"Start {start:%H:%M} does not exist on {day} (the clocks go forward)")
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        raise ValueError(f"Start {start:%H:%M} happens twice on {day} (the clocks go back)")
    return utc


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date, no zone)
        except ValueError:
            continue
    raise ValueError(f"Date {text!r} is not YYYY-MM-DD or DD/MM/YYYY")


def _parse_time(text: str) -> time:
    try:
        return datetime.strptime(text.strip(), "%H:%M").time()  # noqa: DTZ007
    except ValueError:
        raise ValueError(f"Start {text.strip()!r} is not HH:MM (24-hour)") from None


def parse_csv(text: str, report: SlotImportReport) -> list[SlotRow]:
    """Rows of a slots CSV; bad rows go into `report` with their line numbers."""
    if not text.strip(" \t\r\n\ufeff"):
        raise SlotError("The file is empty: it needs a header row and one slot a line")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise SlotError(
            f"The file needs columns {', '.join(COLUMNS)}; missing {', '.join(missing)}"
        )
    reader.fieldnames = header
    rows: list[SlotRow] = []
    for record in reader:
        line = reader.line_num
        report.rows += 1
        try:
            rows.append(_row(line, record))
        except ValueError as error:
            report.reject(line, str(error))
    if not report.rows:
        raise SlotError("The file has a header row but no slots under it")
    return rows


def read_upload(data: bytes, name: str) -> str:
    """The text of an uploaded slots file, in whichever encoding it was saved."""
    try:
        return decode_text(data, name)
    except TextFileError as exc:
        raise SlotError(str(exc)) from None


def _row(line: int, record: dict[str, Any]) -> SlotRow:
    day = _parse_date(record.get("date") or "")
    if not diary_range.covers(day):
        raise ValueError(f"Date {day.isoformat()} is outside the diary: {diary_range.RANGE_HELP}")
    start = _parse_time(record.get("start") or "")
    raw = (record.get("duration_minutes") or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DURATION_MINUTES:
        raise ValueError(f"Column duration_minutes: {raw!r} is not a whole number from 1 to 480")
    location = " ".join((record.get("location") or "").split())
    if not location:
        raise ValueError("Location is empty")
    if len(location) > 200:
        raise ValueError("Location is longer than 200 characters")
    return SlotRow(line, day, start, int(raw), location)
