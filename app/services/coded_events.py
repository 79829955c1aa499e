"""Reading a coded-events file (SNOMED CT entries of the GP record) for a list import.

The file is streamed once, before the list, and folded per patient by the pure rules
of `app.domain.event_rows`; the list import merges the folded codes into each patient
row it loads, in its one transaction.

Apache Arrow parses the file (app.data.event_columns), on any database: Python sees only
the distinct codes, the rows in a cluster (about one in ten) and, once the list is
loaded, the NHS numbers as written that name no listed patient. A file Arrow cannot
number by line (a row spanning lines, a blank or short row), a file on disk that is not
UTF-8, or a stream that cannot be read twice is read with the csv module instead
(`app.domain.text_files` decodes Windows-1252 and UTF-16). The same rules run on both,
so the problems reported are the same, line for line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterable
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
    # files Arrow read: checks the NHS numbers of ignored rows once the list is loaded
    pending: Callable[[Collection[int]], None] | None = None
    # files Arrow read, until reported: which of these patients some row names
    named_in: Callable[[list[int]], set[int]] | None = None

    def names(self, numbers: Iterable[int]) -> set[int]:
        """Which of these patients the file names, on any row (before `report`)."""
        wanted = set(numbers)
        found = {n for n in wanted if n in self.lines or n in self.codes}
        if self.named_in is not None and len(found) < len(wanted):
            found |= self.named_in(sorted(wanted - found))
        return found

    def unknown_patients(self, listed: Iterable[int]) -> list[tuple[int, int]]:
        """(line, NHS number) of each patient the events name and the list does not."""
        listed_set = listed if isinstance(listed, dict | set) else set(listed)
        return sorted((line, nhs) for nhs, line in self.lines.items() if nhs not in listed_set)

    def report(self, listed: Iterable[int], problem: Callable[[int, str, str], None]) -> int:
        """Pass on this file's problems and one per patient the list does not have;
        the number of such patients (reported, never invented into patients)."""
        listed_set = listed if isinstance(listed, dict | set) else set(listed)
        if self.pending is not None:
            self.pending(listed_set)
            self.pending = None
            self.named_in = None
        for p in self.problems:
            problem(p["line"], p["kind"], p["reason"])
        unknown = self.unknown_patients(listed_set)
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
    may be outcomes of a check are kept from `outcomes_since` (None: none are).

    Arrow reads the file where it can (see the module); a file it cannot number by line,
    or a stream that cannot be read twice, is read with the csv module."""
    if isinstance(source, str | Path):
        path = Path(source)
        label = name or path.name
        with path.open("rb") as binary:
            header = _utf8_header(binary.readline())
            start = binary.tell()
        read = None
        if header is not None:
            read = _columnar(header, path, label, today, outcomes_since, start=start)
        if read is not None:
            return read
        try:
            with open_text_path(path) as stream:
                return _read(stream, label, today, outcomes_since)
        except TextFileError as exc:
            raise EventsFileError(str(exc)) from None
    label = name or str(getattr(source, "name", "events.csv"))
    if source.seekable():
        start = source.tell()
        text = source

        def utf8(size: int) -> bytes:
            return text.read(size).encode("utf-8")

        try:
            read = _columnar(source.readline(), utf8, label, today, outcomes_since)
        except UnicodeDecodeError:  # the csv reading says where, naming the file
            read = None
        if read is not None:
            return read
        source.seek(start)
    return _read(source, label, today, outcomes_since)


def _columns(headers: list[str] | None, name: str) -> dict[str, int]:
    if not headers or not any(h.strip() for h in headers):
        raise EventsFileError(f"{name} has no header row")
    headers[0] = headers[0].lstrip("\ufeff")
    match = match_headers(headers, EVENT_COLUMNS, EVENT_REQUIRED)
    if match.missing:
        raise EventsFileError(
            f"{name} has no {' or '.join(repr(m) for m in match.missing)} column "
            f"(headers found: {', '.join(headers)})"
        )
    return match.columns


def _read(stream: IO[str], name: str, today: date, outcomes_since: date | None) -> EventsRead:
    reader = csv.reader(stream)
    try:
        headers = next(reader, None)
        columns = _columns(headers, name)
        assert headers is not None
        checker = EventChecker(
            columns,
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


_FIELDS = {"nhs_number": 0, "code": 1, "date": 2, "value": 3}  # of the rows `fold` gets


def _utf8_header(line: bytes) -> str | None:
    """A file's first line if it is UTF-8 text; None sends the file to the decoding
    reader (UTF-16, Windows-1252 or not text at all: it knows which, and says so)."""
    try:
        header = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return header if header.strip() and "\x00" not in header else None


def _columnar(
    header: str,
    source: Path | Callable[[int], bytes],
    name: str,
    today: date,
    outcomes_since: date | None,
    *,
    start: int = 0,
) -> EventsRead | None:
    """The file read by Arrow (app.data.event_columns); None: read it with the csv module
    (a malformed concept id too, so that reading names its line, as for any file)."""
    headers = next(csv.reader([header]), None)
    columns = _columns(headers, name)
    assert headers is not None
    checker = EventChecker(
        _FIELDS, 4, today=today, clusters=national_clusters(), outcomes_since=outcomes_since
    )
    read = EventsRead(name, checker.codes, checker.lines)

    def reject(line: int, reason: str) -> None:
        _rejected(read, line, EventRejection(reason))

    # Arrow (and numpy, which it loads) only in a process reading an events file: ~70 MB
    # that web workers and list-only imports need not carry
    from app.data import event_columns

    try:
        found = event_columns.read_columns(
            source, start=start, width=len(headers), fields=columns,
            relevant=checker.relevant_codes, fold=lambda rows: checker.fold_relevant(rows, reject),
        )  # fmt: skip
    except CodedRowError:
        return None
    if found is None:
        return None
    read.rows, read.relevant = found.rows, checker.relevant

    def pending(listed: Collection[int]) -> None:
        checker.check_spellings(found.unlisted(listed), reject)

    read.pending = pending
    read.named_in = found.named
    return read
