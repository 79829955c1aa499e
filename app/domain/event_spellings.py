"""The distinct NHS numbers an events file names, as written, gathered from its bytes.

A staged events file (app.services.coded_events) streams past Python once on its way to
the database; reading the NHS number column off each line there (a split, not a CSV
parse) leaves the database only the rows that need it, where matching every row against
the list costs more than the file's own COPY. Plain ten-digit spellings, nearly all of
them, are kept as integers (8 bytes each); any other spelling as text. A line this cannot
read as CSV would (a quote inside the field, a field spanning lines) marks the result
unreliable, and the caller asks the database instead. Pure.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Container, Iterable

from app.domain import nhs_number

_FIELD = rb'(?:"(?:[^"]|"")*"|[^,"\r\n]*)'


class NhsSpellings:
    """Fed whole lines (bytes, past the header) of a CSV file whose NHS number is
    column `index`; `packed` gives the ten-digit spellings, `other` the rest as text."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.reliable = True
        self.other: set[str] = set()
        self._seen: set[bytes] = set()
        # each match starts at a line's newline (a pattern anchored on `^` is tried at
        # every byte, several times slower)
        ends = rb"(?=,|\r?\n|\r?\Z)"
        field = (
            rb"([^,\n]*)" if index == 0 else rb"(?:%s,){%d}(%s)" % (_FIELD, index, _FIELD) + ends
        )
        self._findall = re.compile(rb"\n" + field).findall

    def feed(self, lines: bytes) -> None:
        """Take `lines`: complete lines, each ended by a newline but maybe the last."""
        if not self.reliable or not lines:
            return
        text = b"\n" + (lines[:-1] if lines.endswith(b"\n") else lines)
        found = self._findall(text)
        if len(found) != text.count(b"\n"):  # a line this cannot read
            self.reliable = False
            return
        self._seen.update(found)

    def packed(self) -> array[int]:
        """The plain spellings as integers, compactly; the others go into `other`."""
        seen, self._seen = self._seen, set()
        packed = array("q")
        other = self.other
        for field in seen:
            if len(field) == 10 and field.isdigit():
                packed.append(int(field))
            elif (spelling := _unquoted(field)) is None:
                self.reliable = False
            else:
                other.add(spelling)
        return packed


def _unquoted(field: bytes) -> str | None:
    """The field's text as a CSV reader gives it; None if this reading cannot be sure."""
    if field.endswith(b"\r"):
        return None  # the last column: a CSV reader takes the line end, not the field
    if field.startswith(b'"'):
        inner = field[1:-1]
        if len(field) < 2 or not field.endswith(b'"') or inner.replace(b'""', b"").count(b'"'):
            return None
        field = inner.replace(b'""', b'"')
    elif b'"' in field:
        return None
    try:
        return field.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unlisted_spellings(
    plain: Iterable[int], other: Iterable[str], listed: Container[int]
) -> list[str]:
    """The spellings that name no listed patient (written plainly or with spaces and
    hyphens), badly written ones included: the ones whose lines the import reports."""
    found = [f"{n:010d}" for n in plain if n not in listed]
    for spelling in other:
        digits = nhs_number.clean(spelling)
        if not (len(digits) == 10 and digits.isascii() and digits.isdigit()) or (
            int(digits) not in listed
        ):
            found.append(spelling)
    return found
