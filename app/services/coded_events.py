"""Reading a coded-events file (SNOMED CT entries of the GP record) for a list import.

The file is streamed once, before the list, and folded per patient by the pure rules
of `app.domain.event_rows`; the list import merges the folded codes into each patient
row it loads, in its one transaction.

On PostgreSQL (`stage_events`) the database parses the file: its bytes go by COPY into
a temporary table (app.data.event_staging) and Python sees only the distinct codes and
the rows in a cluster (about one in ten). On their way to the COPY the lines give up
their distinct NHS numbers as written (app.domain.event_spellings); once the list is
loaded, those naming no listed patient are checked in Python and the database finds
only their lines. The same rules run on all of it, so the problems reported are the
same, and possible check outcomes are kept alike. A file COPY refuses,
with a row spanning lines (line numbers would drift), or on disk and not UTF-8 is read in
Python instead (`app.domain.text_files` decodes Windows-1252 and UTF-16).
"""

from __future__ import annotations

import csv
import queue
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Connection

from app.data import event_staging
from app.domain.coded import PatientCodes, national_clusters
from app.domain.csv_headers import EVENT_COLUMNS, EVENT_REQUIRED, match_headers
from app.domain.event_rows import CodedRowError, EventChecker, EventRejection
from app.domain.event_spellings import NhsSpellings, unlisted_spellings
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
    # staged files: checks the NHS numbers of ignored rows once the list is loaded
    pending: Callable[[Container[int]], None] | None = None
    # staged files, until reported: which of these patients some row names
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
    may be outcomes of a check are kept from `outcomes_since` (None: none are)."""
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            with open_text_path(path) as stream:
                return _read(stream, name or path.name, today, outcomes_since)
        except TextFileError as exc:
            raise EventsFileError(str(exc)) from None
    return _read(source, name or str(getattr(source, "name", "events.csv")), today, outcomes_since)


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


_CHUNK = 1 << 20
_AHEAD = 8  # chunks queued for the NHS number reading
_STAGED_FIELDS = {"nhs_number": 0, "code": 1, "date": 2, "value": 3}


class _Chunks:
    """The file's bytes past its header, counting newlines as they pass (a row spanning
    lines shows as fewer rows than lines) and gathering the NHS numbers they name: a
    second thread reads each chunk's lines while the next goes to the database (the
    COPY waits on the socket without the GIL)."""

    def __init__(self, binary: IO[bytes] | None, text: IO[str] | None) -> None:
        self.binary, self.text = binary, text
        self.newlines = 0
        self.last = b"\n"
        self.spellings: NhsSpellings | None = None

    def __iter__(self) -> Iterator[bytes]:
        spellings = self.spellings
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)
        reader = None
        if spellings is not None:
            reader = threading.Thread(target=_read_spellings, args=(chunks, spellings), daemon=True)
            reader.start()
        try:
            while True:
                if self.binary is not None:
                    chunk = self.binary.read(_CHUNK)
                else:
                    assert self.text is not None
                    chunk = self.text.read(_CHUNK).encode("utf-8")
                if not chunk:
                    return
                self.newlines += chunk.count(b"\n")
                self.last = chunk[-1:]
                yield chunk
                if reader is not None:
                    chunks.put(chunk)
        finally:
            if reader is not None:
                chunks.put(None)
                reader.join()

    def lines(self) -> int:
        return self.newlines + (self.last != b"\n")


def _read_spellings(chunks: queue.Queue[bytes | None], spellings: NhsSpellings) -> None:
    """Feed the chunks' whole lines to `spellings` until None comes (then the rest)."""
    carry = b""
    ended = False
    try:
        while (chunk := chunks.get()) is not None:
            cut = chunk.rfind(b"\n") + 1
            if cut:
                spellings.feed(carry + chunk[:cut])
                carry = chunk[cut:]
            else:
                carry += chunk
        ended = True
        spellings.feed(carry)
    except BaseException:  # never leave the COPY waiting on a full queue
        spellings.reliable = False
        while not ended and chunks.get() is not None:
            pass


def stage_events(
    conn: Connection,
    source: str | Path | IO[str],
    *,
    today: date,
    name: str | None,
    practice_id: int,
    outcomes_since: date | None = None,
) -> EventsRead:
    """`read_events`, with the database parsing the file where it can (see the module)."""
    if not event_staging.can_stage(conn) or not (
        isinstance(source, str | Path) or source.seekable()
    ):
        return read_events(source, today=today, name=name, outcomes_since=outcomes_since)
    if isinstance(source, str | Path):
        path = Path(source)
        label = name or path.name
        staged = None
        with path.open("rb") as binary:
            header = _utf8_header(binary.readline())
            if header is not None:
                chunks = _Chunks(binary, None)
                staged = _stage(conn, header, chunks, label, today, practice_id, outcomes_since)
        if staged is not None:
            return staged
        return read_events(path, today=today, name=label, outcomes_since=outcomes_since)
    label = name or str(getattr(source, "name", "events.csv"))
    start = source.tell()
    try:
        staged = _stage(
            conn, source.readline(), _Chunks(None, source), label, today, practice_id,
            outcomes_since,
        )  # fmt: skip
    except UnicodeDecodeError:  # the Python reading says where, naming the file
        staged = None
    if staged is not None:
        return staged
    source.seek(start)
    return read_events(source, today=today, name=label, outcomes_since=outcomes_since)


def _utf8_header(line: bytes) -> str | None:
    """A file's first line if it is UTF-8 text; None sends the file to the decoding
    reader (UTF-16, Windows-1252 or not text at all: it knows which, and says so)."""
    try:
        header = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return header if header.strip() and "\x00" not in header else None


def _stage(
    conn: Connection,
    header: str,
    chunks: _Chunks,
    name: str,
    today: date,
    practice_id: int,
    outcomes_since: date | None,
) -> EventsRead | None:
    headers = next(csv.reader([header]), None)
    columns = _columns(headers, name)
    assert headers is not None
    stage = event_staging.EventStage(conn, len(headers), columns)
    chunks.spellings = spellings = NhsSpellings(columns["nhs_number"])
    rows = stage.copy(chunks)
    if rows is None:
        return None
    if rows != chunks.lines():  # a quoted line break: lines would not be rows
        stage.drop()
        return None
    # the NHS numbers as written, compactly, for `pending`
    plain, other, reliable = spellings.packed(), spellings.other, spellings.reliable
    chunks.spellings = None
    checker = EventChecker(
        _STAGED_FIELDS, 4, today=today, clusters=national_clusters(), outcomes_since=outcomes_since
    )
    read = EventsRead(name, checker.codes, checker.lines, rows=rows)

    def reject(line: int, reason: str) -> None:
        _rejected(read, line, EventRejection(reason))

    try:
        codes = checker.relevant_codes(stage.code_lines())
        checker.fold_relevant(stage.relevant(codes), reject)
    except CodedRowError as exc:
        raise EventsFileError(f"{name} {exc}") from None
    read.relevant = checker.relevant

    def pending(listed: Container[int]) -> None:
        found: Iterable[tuple[str, int, int | None]]
        if reliable:  # only the spellings naming no listed patient go back to the database
            unlisted = unlisted_spellings(plain, other, listed)
            found = stage.spelling_lines(unlisted) if unlisted else []
        else:
            found = stage.unmatched_spellings(practice_id)
        checker.check_spellings(found, reject)
        stage.drop()

    read.pending = pending
    read.named_in = stage.named
    return read
