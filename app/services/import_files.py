"""The edges of a patient-list import: its errors, what its problems are called, reading
the file (any encoding GP systems save, via app.domain.text_files) and tallying its rows."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app.domain.import_rows import FIELDS, MOBILE_STATUS, Rejection, RowChecker
from app.domain.problem_groups import ProblemGroups
from app.domain.text_files import TextFileError, open_text

MAX_STORED_PROBLEMS = 1_000  # ImportBatch.problems keeps a sample; the CSV has them all

PROBLEM_KINDS = {
    "rejected": "Not loaded",
    "warning": "Warning",
    "event_rejected": "Coded event not loaded",
    "event_unknown_patient": "Coded event: not on the list",
}
PROBLEMS_HEADER = ("line", "what", "problem")


class ImportFileError(ValueError):
    """The file cannot be imported at all (no header, a required column missing, not text)."""


class PartialListError(ImportFileError):
    """The file drops so many listed patients it looks like a partial export; the caller
    says how to confirm it is the whole list (a tick box, a command option)."""


def count_data_rows(path: str | Path) -> int:
    """Roughly how many data rows a file has (newlines less the header), for progress bars."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def rejected_path_for(path: str | Path) -> Path:
    """Where the rejected rows of `path` go: `FILE.rejected.csv` beside it."""
    p = Path(path)
    return p.with_name(p.name + ".rejected.csv")


def open_text_upload(data: bytes | IO[bytes], name: str = "upload.csv") -> IO[str]:
    """A text stream over uploaded bytes or a binary upload stream, in whichever encoding
    the file was saved (app.domain.text_files); ImportFileError if it is not text."""
    try:
        return open_text(io.BytesIO(data) if isinstance(data, bytes) else data, name)
    except TextFileError as exc:
        raise ImportFileError(str(exc)) from None


__all__ = [
    "PROBLEMS_HEADER",
    "PROBLEM_KINDS",
    "ImportFileError",
    "PartialListError",
    "count_data_rows",
    "open_text_upload",
    "rejected_path_for",
]


@dataclass
class Tally:
    """What a list import has seen so far: counts, a sample of problems, all grouped."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    held: int = 0
    mobile: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    # every valid NHS number the file lists -> the line it was accepted on (0: the
    # row was rejected for another reason, but the patient is still on the list)
    listed: dict[int, int] = field(default_factory=dict)
    groups: ProblemGroups = field(default_factory=ProblemGroups)
    problems_out: Any = None  # a csv writer given every problem, when asked for

    def problem(self, line: int, kind: str, reason: str) -> None:
        if len(self.problems) < MAX_STORED_PROBLEMS:
            self.problems.append({"line": line, "kind": kind, "reason": reason})
        self.groups.add(line, kind, reason)
        if self.problems_out is not None:
            self.problems_out.writerow([line, PROBLEM_KINDS.get(kind, "Warning"), reason])


def checked_rows(
    reader: Any, checker: RowChecker, tally: Tally, reject_writer: Any
) -> Iterator[tuple[Any, ...]]:
    """Yield the values (FIELDS order) of each good row; count and write out bad ones."""
    width = checker.width
    mobile_counts = tally.mobile
    held_index = FIELDS.index("unrecognised_conditions")
    check_row = checker.check_row
    line = 1  # the header
    for fields in reader:
        first_line = line + 1
        line = reader.line_num
        n = len(fields)
        if n <= 1 and (n == 0 or not fields[0].strip()):
            continue  # a blank line
        tally.rows += 1
        checked = check_row(fields, first_line)
        if isinstance(checked, Rejection):
            tally.rejected += 1
            tally.problem(first_line, "rejected", checked.reason)
            if reject_writer is not None:
                padded = (fields + [""] * width)[:width]
                reject_writer.writerow([first_line, checked.reason, *padded])
            continue
        values, warnings = checked
        status = values[MOBILE_STATUS]
        mobile_counts[status] = mobile_counts.get(status, 0) + 1
        if warnings:
            tally.warnings += len(warnings)
            for warning in warnings:
                tally.problem(first_line, "warning", warning)
            if values[held_index]:
                tally.held += 1
        yield values
