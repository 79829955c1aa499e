"""One row of a coded-events file: a SNOMED CT entry of a patient's GP record, checked.

The rules (README, "Coded extracts (SNOMED CT)"): a malformed concept id stops the
import (`CodedRowError`, naming the line: the file is not what it claims to be); a row
with a bad NHS number, a missing, impossible or future date, or a non-numeric value on a
code that needs one is rejected on its own; a code in no cluster is ignored silently.
Relevant entries are folded into one `PatientCodes` per NHS number as they stream past,
so a file of millions of rows needs memory only for the patients it codes.
Pure: the import service reads the CSV and merges the folded codes into the list.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from app.domain import nhs_number
from app.domain.coded import Clusters, ConceptIdError, PatientCodes, concept_id
from app.domain.csv_headers import EVENT_COLUMNS
from app.domain.dates import DateFormatError, parse_date

_MEMO_LIMIT = 200_000


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
    """

    def __init__(
        self, columns: dict[str, int], width: int, *, today: date, clusters: Clusters
    ) -> None:
        self.width = width
        col = {f: columns.get(f, width) for f in EVENT_COLUMNS}
        self.i_nhs, self.i_code = col["nhs_number"], col["code"]
        self.i_date, self.i_value = col["date"], col["value"]
        self.today = today
        self.clusters = clusters
        self.codes: dict[int, PatientCodes] = {}
        self.lines: dict[int, int] = {}
        self.relevant = 0
        self._concepts: dict[str, tuple[str, ...] | None] = {}  # raw -> clusters (None: bad)
        self._dates: dict[str, date | _Reason] = {}

    def check_row(self, fields: list[str], line: int) -> EventRejection | None:
        """None for a row taken (or ignored as irrelevant); raises CodedRowError."""
        if len(fields) <= self.width:
            fields = fields + [""] * (self.width + 1 - len(fields))
        raw_code = fields[self.i_code]
        names = self._concepts.get(raw_code, ())
        if names == ():
            try:
                names = self.clusters.names_of(concept_id(raw_code)) or None
            except ConceptIdError as exc:
                raise CodedRowError(line, str(exc)) from None
            if len(self._concepts) < _MEMO_LIMIT:
                self._concepts[raw_code] = names

        nhs = fields[self.i_nhs]
        if len(nhs) != 10 or not nhs.isdigit():
            nhs = nhs_number.clean(nhs)
        if not nhs:
            return EventRejection("missing NHS number")
        if len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
            return EventRejection(f"NHS number {nhs[:20]!r} is not 10 digits")
        if not nhs_number.is_valid(nhs):
            return EventRejection(f"NHS number {nhs} fails the modulus 11 check")

        raw_date = fields[self.i_date]
        on = self._dates.get(raw_date)
        if on is None:
            on = check_event_date(raw_date, self.today)
            if len(self._dates) < _MEMO_LIMIT:
                self._dates[raw_date] = on
        if isinstance(on, _Reason):
            return EventRejection(on)
        key = int(nhs)
        self.lines.setdefault(key, line)
        if names is None:
            return None  # in no cluster: most of a record is irrelevant
        value = parse_value(fields[self.i_value])
        if isinstance(value, _Reason):
            return EventRejection(value)
        record = self.codes.get(key)
        if record is None:
            record = self.codes[key] = PatientCodes()
        record.add(self.clusters, raw_code.strip(), on, value)
        self.relevant += 1
        return None


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
