"""The edges of a patient-list import: its errors, what its problems are called, and
reading the file (any encoding GP systems save, via app.domain.text_files)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

from app.domain.text_files import TextFileError, open_text

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
