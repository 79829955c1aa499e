"""Reading a coded-events file (SNOMED CT entries of the GP record) for a list import.

The file is streamed once, before the list, and folded per patient by the pure rules
of `app.domain.event_rows`; nothing is written here: the list import merges the folded
codes into each patient row it loads, in its one transaction.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from app.domain.coded import PatientCodes, national_clusters
from app.domain.csv_headers import EVENT_COLUMNS, EVENT_REQUIRED, match_headers
from app.domain.event_rows import CodedRowError, EventChecker, EventRejection
from app.domain.text_files import TextFileError, open_text_path

MAX_REPORTED = 1_000  # problems kept per kind (the counts are exact)


class EventsFileError(ValueError):
    """The events file cannot be used at all (header, encoding, a malformed concept id)."""


@dataclass
class EventsRead:
    name: str
    codes: dict[int, PatientCodes]
    lines: dict[int, int]  # NHS number -> first line naming it
    rows: int = 0
    relevant: int = 0
    rejected: int = 0
    outcome_window_days: int = 90  # how long after a check its outcomes count
    problems: list[dict[str, Any]] = field(default_factory=list)

    def unknown_patients(self, listed: Iterable[int]) -> list[tuple[int, int]]:
        """(line, NHS number) of each patient the events name and the list does not."""
        listed_set = listed if isinstance(listed, dict | set) else set(listed)
        return sorted((line, nhs) for nhs, line in self.lines.items() if nhs not in listed_set)

    def report(self, listed: Iterable[int], problem: Callable[[int, str, str], None]) -> int:
        """Pass on this file's problems and one per patient the list does not have;
        the number of such patients (reported, never invented into patients)."""
        for p in self.problems:
            problem(p["line"], p["kind"], p["reason"])
        unknown = self.unknown_patients(listed)
        for line, nhs in unknown:
            problem(
                line,
                "event_unknown_patient",
                f"{self.name}: NHS number {nhs:010d} is not on the list (its entries are ignored)",
            )
        return len(unknown)


def read_events(
    source: str | Path | IO[str],
    *,
    today: date,
    name: str | None = None,
    outcomes_since: date | None = None,
) -> EventsRead:
    """Check and fold every row of an events file (path or text stream); entries that
    may be outcomes of a check are kept from `outcomes_since` (None: none are)."""
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with open_text_path(path) as stream:
                return _read(stream, name or path.name, today, outcomes_since)
        except TextFileError as exc:
            raise EventsFileError(str(exc)) from None
    return _read(source, name or str(getattr(source, "name", "events.csv")), today, outcomes_since)


def _read(stream: IO[str], name: str, today: date, outcomes_since: date | None) -> EventsRead:
    reader = csv.reader(stream)
    try:
        headers = next(reader, None)
        if not headers or not any(h.strip() for h in headers):
            raise EventsFileError(f"{name} has no header row")
        headers[0] = headers[0].lstrip("\ufeff")
        match = match_headers(headers, EVENT_COLUMNS, EVENT_REQUIRED)
        if match.missing:
            raise EventsFileError(
                f"{name} has no {' or '.join(repr(m) for m in match.missing)} column "
                f"(headers found: {', '.join(headers)})"
            )
        checker = EventChecker(
            match.columns,
            len(headers),
            today=today,
            clusters=national_clusters(),
            outcomes_since=outcomes_since,
        )
        read = EventsRead(name, checker.codes, checker.lines)

        def reject(line: int, reason: str) -> None:
            _rejected(read, line, EventRejection(reason))

        checker.fold(reader, reject)
        checker.finish(reject)
        read.rows = checker.rows
        read.relevant = checker.relevant
        return read
    except CodedRowError as exc:
        raise EventsFileError(f"{name} {exc}") from None
    except UnicodeDecodeError as exc:
        raise EventsFileError(f"{name} cannot be read as text: {exc.reason}") from None
    except csv.Error as exc:
        raise EventsFileError(f"{name} line {reader.line_num}: {exc}") from None


def _rejected(read: EventsRead, line: int, rejection: EventRejection) -> None:
    read.rejected += 1
    if read.rejected <= MAX_REPORTED:
        read.problems.append(
            {"line": line, "kind": "event_rejected", "reason": f"{read.name}: {rejection.reason}"}
        )
