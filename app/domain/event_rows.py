"""One row of a coded-events file: a SNOMED CT entry of a patient's GP record, checked.

The rules (README, "Coded extracts (SNOMED CT)"): a malformed concept id stops the
import (`CodedRowError`, naming the line: the file is not what it claims to be); a row
with a bad NHS number, a missing, impossible or future date, or a non-numeric value on a
code that needs one is rejected on its own; a code in no cluster is ignored silently.
Relevant entries are folded into one `PatientCodes` per NHS number as they stream past,
so a file of millions of rows needs memory only for the patients it names. A row whose
code is in no cluster is not checked further (its date is not read); its NHS number is
checked once however it is spaced, so a patient the list lacks is reported whatever the
code.
Pure: the import service reads the CSV and merges the folded codes into the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple

from app.domain import nhs_number
from app.domain.coded import Clusters, ConceptIdError, PatientCodes, concept_id
from app.domain.csv_headers import EVENT_COLUMNS
from app.domain.dates import DateFormatError, parse_date

_MEMO_LIMIT = 200_000
_NUMBERS_LIMIT = 500_000  # NHS numbers checked once each (bounded: memory)
_UNSEEN = object()


class CodedRowError(ValueError):
    """A coded entry that makes the whole file unusable (a malformed concept id)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


class EventRejection(NamedTuple):
    reason: str


class _Reason(str):
    """Why a value was refused (memo dicts hold values or reasons)."""


def check_event_date(raw: str, today: date) -> date | _Reason:
    if not raw.strip():
        return _Reason("missing date")
    try:
        on = parse_date(raw)
    except DateFormatError as exc:
        return _Reason(f"date: {exc}")
    if on > today:
        return _Reason(f"date {on.isoformat()} is in the future")
    return on


def parse_value(raw: str) -> float | None | _Reason:
    text = raw.strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return _Reason(f"value {raw.strip()[:30]!r} is not a number")


class EventChecker:
    """Checks the rows of one events file in order and folds the relevant ones.

    `codes` maps NHS number -> that patient's folded entries; `lines` maps every valid
    NHS number the file names -> the first line naming it (for events of patients the
    list does not have, which are reported, never invented into patients).

    This is the hot loop of a five-million-row file, and most rows carry codes in no
    cluster: those are ignored after two dict look-ups (the code's clusters, memoised,
    and the NHS number as written, checked once per distinct spelling in `finish`).
    """

    def __init__(
        self,
        columns: dict[str, int],
        width: int,
        *,
        today: date,
        clusters: Clusters,
        outcomes_since: date | None = None,
    ) -> None:
        self.width = width
        col = {f: columns.get(f, width) for f in EVENT_COLUMNS}
        self.i_nhs, self.i_code = col["nhs_number"], col["code"]
        self.i_date, self.i_value = col["date"], col["value"]
        self.today = today
        self.clusters = clusters
        self.outcomes_since = outcomes_since  # keep possible check outcomes from this date
        self.codes: dict[int, PatientCodes] = {}
        self.lines: dict[int, int] = {}
        self.rows = 0
        self.relevant = 0
        self._spellings: dict[str, int] = {}  # NHS number as written -> first line
        self._concepts: dict[str, tuple[str, ...] | None] = {}  # raw -> clusters (None: none)
        self._dates: dict[str, date | _Reason] = {}
        self._values: dict[str, float | None | _Reason] = {}
        self._numbers: dict[str, int | _Reason] = {}  # NHS number as written -> checked

    def fold(self, reader: Any, reject: Callable[[int, str], None]) -> None:
        """Read every row of a csv reader (past its header); `reject(line, reason)` is
        called for each row rejected on its own; raises CodedRowError. A row's line is
        the line it ends on (the same as its first but for quoted line breaks)."""
        width = self.width
        i_nhs, i_code = self.i_nhs, self.i_code
        concepts_get = self._concepts.get
        spellings = self._spellings
        blank = 0
        rows = 0
        for rows, fields in enumerate(reader, 1):  # noqa: B007 (rows is the count)
            try:
                raw_code = fields[i_code]
                raw_nhs = fields[i_nhs]
            except IndexError:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    blank += 1  # a blank line
                    continue
                fields = fields + [""] * (width + 1 - len(fields))
                raw_code, raw_nhs = fields[i_code], fields[i_nhs]
            names = concepts_get(raw_code, ())
            if names is None:  # in no cluster: most of a record is irrelevant
                if raw_nhs not in spellings:
                    spellings[raw_nhs] = reader.line_num
                continue
            if names == ():
                names = self._concept(raw_code, reader.line_num)
                if names is None:
                    if raw_nhs not in spellings:
                        spellings[raw_nhs] = reader.line_num
                    continue
            if len(fields) <= width:
                fields = fields + [""] * (width + 1 - len(fields))
            reason = self._relevant(fields, raw_code.strip(), names, reader.line_num)
            if reason is not None:
                reject(reader.line_num, reason)
        self.rows += rows - blank

    def relevant_codes(self, code_lines: Iterable[tuple[str, int]]) -> list[str]:
        """The codes as written, of (code, first line) pairs, that are in a cluster;
        CodedRowError for the malformed one on the earliest line."""
        relevant = []
        for raw_code, line in sorted(code_lines, key=lambda c: c[1]):
            if self._concept(raw_code, line) is not None:
                relevant.append(raw_code)
        return relevant

    def fold_relevant(
        self,
        rows: Iterable[tuple[int, str, str, str, str]],
        reject: Callable[[int, str], None],
    ) -> None:
        """Fold (line, NHS number, code, date, value) rows, as written, whose codes are in
        a cluster (a columnar reading filtered them), in file order. Neither counted in `rows`
        nor noted in `lines`: `check_spellings` gets every NHS number the list lacks."""
        concepts_get = self._concepts.get
        dates, values = self._dates, self._values
        codes, clusters, today = self.codes, self.clusters, self.today
        since = self.outcomes_since
        is_valid = nhs_number.is_valid
        stripped: dict[str, str] = {}
        folded = 0
        for line, raw_nhs, raw_code, raw_date, raw_value in rows:
            names = concepts_get(raw_code) or self._concept(raw_code, line)
            if names is None:
                continue
            nhs = int(raw_nhs) if is_valid(raw_nhs) else _nhs(raw_nhs)
            if isinstance(nhs, _Reason):
                reject(line, nhs)
                continue
            on = dates.get(raw_date)
            if on is None:
                on = check_event_date(raw_date, today)
                if len(dates) < _MEMO_LIMIT:
                    dates[raw_date] = on
            if isinstance(on, _Reason):
                reject(line, on)
                continue
            value = values.get(raw_value, _UNSEEN)
            if value is _UNSEEN:
                value = parse_value(raw_value)
                if len(values) < _MEMO_LIMIT:
                    values[raw_value] = value
            if isinstance(value, _Reason):
                reject(line, value)
                continue
            code = stripped.get(raw_code)
            if code is None:
                code = stripped[raw_code] = raw_code.strip()
            record = codes.get(nhs)
            if record is None:
                record = codes[nhs] = PatientCodes()
            record.add(clusters, code, on, value, since, names)  # type: ignore[arg-type]
            folded += 1
        self.relevant += folded

    def check_spellings(
        self, spellings: Iterable[tuple[str, int, int | None]], reject: Callable[[int, str], None]
    ) -> None:
        """NHS numbers as written that a columnar reading found naming no listed patient, each
        with the first line naming it and the first such line whose code is in no
        cluster (None: only rows in a cluster name it). A bad one is rejected once, on
        that line (rows in a cluster were rejected one by one as they were folded); a
        good one goes into `lines` (a patient the list may not have)."""
        lines = self.lines
        for raw, line, ignored_line in spellings:
            nhs = _nhs(raw)
            if isinstance(nhs, _Reason):
                if ignored_line is not None:
                    reject(ignored_line, nhs)
            elif nhs not in lines or lines[nhs] > line:
                lines[nhs] = line

    def finish(self, reject: Callable[[int, str], None]) -> None:
        """Check each NHS number seen on ignored rows once, however it was spaced (a bad
        one is rejected on the first such line)."""
        lines = self.lines
        first: dict[str, int] = {}
        for raw, line in self._spellings.items():
            key = raw if len(raw) == 10 and raw.isdigit() else nhs_number.clean(raw)
            if key not in first or first[key] > line:
                first[key] = line
        for key, line in first.items():
            nhs = _nhs(key)
            if isinstance(nhs, _Reason):
                reject(line, nhs)
            elif nhs not in lines or lines[nhs] > line:
                lines[nhs] = line
        self._spellings.clear()
        self._numbers.clear()

    def _concept(self, raw_code: str, line: int) -> tuple[str, ...] | None:
        try:
            names = self.clusters.names_of(concept_id(raw_code)) or None
        except ConceptIdError as exc:
            raise CodedRowError(line, str(exc)) from None
        if len(self._concepts) < _MEMO_LIMIT:
            self._concepts[raw_code] = names
        return names

    def _relevant(
        self, fields: list[str], code: str, names: tuple[str, ...], line: int
    ) -> str | None:
        raw_nhs = fields[self.i_nhs]
        nhs = self._numbers.get(raw_nhs)
        if nhs is None:
            nhs = _nhs(raw_nhs)
            if len(self._numbers) < _NUMBERS_LIMIT:
                self._numbers[raw_nhs] = nhs
        if isinstance(nhs, _Reason):
            return nhs
        if nhs not in self.lines or self.lines[nhs] > line:  # named here, whatever follows
            self.lines[nhs] = line
        raw_date = fields[self.i_date]
        on = self._dates.get(raw_date)
        if on is None:
            on = check_event_date(raw_date, self.today)
            if len(self._dates) < _MEMO_LIMIT:
                self._dates[raw_date] = on
        if isinstance(on, _Reason):
            return on
        value = parse_value(fields[self.i_value])
        if isinstance(value, _Reason):
            return value
        record = self.codes.get(nhs)
        if record is None:
            record = self.codes[nhs] = PatientCodes()
        record.add(self.clusters, code, on, value, self.outcomes_since)
        self.relevant += 1
        return None


def _nhs(raw: str) -> int | _Reason:
    nhs = raw if len(raw) == 10 and raw.isdigit() else nhs_number.clean(raw)
    if not nhs:
        return _Reason("missing NHS number")
    if len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
        return _Reason(f"NHS number {nhs[:20]!r} is not 10 digits")
    if not nhs_number.is_valid(nhs):
        return _Reason(f"NHS number {nhs} fails the modulus 11 check")
    return int(nhs)


def list_codes(
    raw: str, clusters: Clusters, *, today: date, line: int, into: PatientCodes | None
) -> PatientCodes | None:
    """The ';'-separated concept ids of a list's codes column folded in as entries of the
    extract's date (`today`): the same rules as an events file with that date."""
    parts = [p for p in raw.split(";") if p.strip()]
    if not parts:
        return into
    record = PatientCodes() if into is None else into
    for part in parts:
        try:
            code = concept_id(part)
        except ConceptIdError as exc:
            raise CodedRowError(line, str(exc)) from None
        record.add(clusters, code, today, None)
    return record
