"""A coded-events file read column by column: Apache Arrow's CSV reader, for any database.

Arrow parses the file in C++, block by block; Python sees only what needs its rules:
each distinct concept id as written (with the first line it is on), the rows whose codes
are in a cluster (about one in ten), and, once the list is loaded, the NHS numbers as
written that name no listed patient (with their first lines). Every NHS number is still
read, so a patient the list lacks is reported whatever the code.

Rows are numbered by line, which holds only where no row spans lines and no line is
blank: the bytes are counted on their way in, and a file whose rows and lines differ, or
that Arrow refuses (a short or long row, bytes that are not UTF-8 in a column it reads),
gives None: the caller reads it with the csv module instead, which agrees with Arrow on
quoting (a quote opens a field only at its start; a doubled quote inside is one quote).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import ExitStack, suppress
from itertools import repeat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

BLOCK = 1 << 20  # bytes Arrow parses at a time
AHEAD = 2  # batches parsed ahead of the one being taken
PARTITIONS = 4  # integer spellings are grouped in this many parts (a power of two)
GROUP_EVERY = 1_000_000  # spellings' rows gathered before they are grouped
Row = tuple[int, str, str, str, str]  # line, NHS number, code, date, value (as written)
Spelling = tuple[str, int, int | None]  # as written, first line, first line in no cluster


class _Counted:
    """The file's bytes past its header, counting lines as they are read (a lone
    carriage return, a NUL or a failed read marks the reading unusable)."""

    closed = False

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self.newlines = 0
        self.usable = True
        self.error: BaseException | None = None
        self._last = b"\n"
        self._carriage_returns = 0
        self._crlf = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        if not self.usable:
            return b""
        try:
            data = self._read(size if size and size > 0 else BLOCK)
        except Exception as exc:  # noqa: BLE001 (the caller falls back or re-raises)
            self.error, self.usable = exc, False
            return b""
        if data:
            self.newlines += data.count(b"\n")
            self._carriage_returns += data.count(b"\r")
            self._crlf += data.count(b"\r\n") + (self._last == b"\r" and data[:1] == b"\n")
            if b"\x00" in data:
                self.usable = False
            self._last = data[-1:]
        return data

    def drain(self) -> None:
        """Read to the end, counting (Arrow reads the file itself)."""
        while self.read(BLOCK):
            pass

    def lines(self) -> int | None:
        """How many lines passed; None if some line ends in a lone carriage return."""
        if self._carriage_returns != self._crlf + (self._last == b"\r"):
            return None
        return self.newlines + (self._last not in (b"\n", b"\r"))


class EventColumns:
    """What one reading found besides the rows in a cluster: the row count and each NHS
    number (as written, less spaces and hyphens) with its first line and first line
    whose code is in no cluster; ten digits as integers, anything else (never a
    patient's number) as text."""

    def __init__(self, rows: int, plain: pa.Table, other: pa.Table) -> None:
        self.rows = rows
        self._plain = plain  # ten digits, as integers
        self._other = other  # anything else, as text

    def unlisted(self, listed: Collection[int]) -> list[Spelling]:
        """The spellings naming no listed patient (badly written ones included): the ones
        whose lines the import reports. Anything but ten digits is among them."""
        keys = self._plain.column("key")
        known = pc.is_in(keys, value_set=pa.array(list(listed), pa.int64()))
        found = self._plain.filter(pc.invert(known))
        columns = (found.column(i).to_pylist() for i in range(3))
        spellings: list[Spelling] = [
            (f"{key:010d}", line, ignored) for key, line, ignored in zip(*columns, strict=True)
        ]
        others = (self._other.column(i).to_pylist() for i in range(3))
        spellings.extend(zip(*others, strict=True))
        return spellings

    def named(self, numbers: list[int]) -> set[int]:
        """Which of these NHS numbers some row names (whatever its code)."""
        keys = self._plain.column("key")
        named = pc.is_in(keys, value_set=pa.array(numbers, pa.int64()))
        return set(keys.filter(named).to_pylist())


def read_columns(
    source: Path | Callable[[int], bytes],
    *,
    start: int = 0,
    width: int,
    fields: dict[str, int],
    relevant: Callable[[list[tuple[str, int]]], list[str]],
    fold: Callable[[Iterable[Row]], None],
) -> EventColumns | None:
    """Read the file's rows past its header: a file from byte `start`, or what `source(n)`
    gives; `fields` maps nhs_number, code, date and value to column indexes (value may be
    absent). `relevant` is given each distinct code as written with its first line and
    says which are in a cluster; `fold` is given their rows, in file order. None: read
    this file otherwise (and discard what `fold` was given).

    A file Arrow reads itself, without the interpreter's lock, while another thread
    counts its lines; a stream's bytes are counted as Arrow pulls them."""
    names = [f"c{i}" for i in range(width)]
    wanted = {f: names[i] for f, i in fields.items() if i < width}
    options = {
        "read_options": arrow_csv.ReadOptions(column_names=names, block_size=BLOCK),
        "parse_options": arrow_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        "convert_options": arrow_csv.ConvertOptions(
            column_types={n: pa.string() for n in wanted.values()},
            include_columns=list(dict.fromkeys(wanted.values())),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    reading = _Reading(wanted, relevant, fold)
    refused = False
    with ExitStack() as stack:
        if isinstance(source, Path):
            binary = stack.enter_context(source.open("rb"))
            binary.seek(start)
            counted = _Counted(binary.read)
            counter = threading.Thread(target=counted.drain, daemon=True)
            counter.start()
            stack.callback(counter.join)
            stream: Any = stack.enter_context(pa.OSFile(str(source)))
            stream.seek(start)
        else:
            stream = counted = _Counted(source)
        try:
            for batch in _ahead(arrow_csv.open_csv(stream, **options)):
                reading.take(batch)
        except pa.ArrowInvalid:  # a short or long row, bytes not UTF-8: the csv reading decides
            refused = True
            counted.usable = False  # the line count is not needed: stop counting
    if counted.error is not None and not isinstance(counted.error, UnicodeDecodeError):
        raise counted.error
    if refused or not counted.usable or counted.lines() != reading.rows:
        return None
    found = EventColumns(reading.rows, reading.plain.table(), reading.other.table())
    pa.default_memory_pool().release_unused()  # the blocks parsed: the list import follows
    return found


def _ahead(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches, parsed by another thread while this one takes the last (Arrow parses
    a block only when asked, and lets go of the interpreter's lock while it does)."""
    ready: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def parse() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                ready.put(batch)
            ready.put(None)
        except BaseException as exc:  # noqa: BLE001 (raised again in the reading thread)
            ready.put(exc)

    parser = threading.Thread(target=parse, daemon=True)
    parser.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while parser.is_alive():  # let it finish the batch it is on
            with suppress(queue.Empty):
                ready.get(timeout=0.1)
        parser.join()


class _Reading:
    """One file's batches, taken in order."""

    def __init__(
        self,
        wanted: dict[str, str],
        relevant: Callable[[list[tuple[str, int]]], list[str]],
        fold: Callable[[Iterable[Row]], None],
    ) -> None:
        self.wanted, self.relevant, self.fold = wanted, relevant, fold
        self.rows = 0
        self.seen: set[str] = set()  # codes as written
        self.in_cluster: set[str] = set()
        self.value_set = pa.array([], pa.string())
        self.counting = pa.array(range(BLOCK // 2), pa.int32())  # a row is two bytes or more
        self.plain, self.other = _Spellings(pa.int64()), _Spellings(pa.string())

    def take(self, batch: pa.RecordBatch) -> None:
        n, first = batch.num_rows, self.rows + 2  # the header is line 1
        if n > len(self.counting):
            self.counting = pa.array(range(n), pa.int32())
        codes = batch.column(self.wanted["code"])
        new = [c for c in pc.unique(codes).to_pylist() if c not in self.seen]
        if new:
            firsts = pc.index_in(pa.array(new, pa.string()), value_set=codes).to_pylist()
            code_lines = [(c, first + i) for c, i in zip(new, firsts, strict=True)]
            self.in_cluster.update(self.relevant(code_lines))
            self.seen.update(new)
            self.value_set = pa.array(sorted(self.in_cluster), pa.string())
        mask = pc.is_in(codes, value_set=self.value_set)
        lines = pc.add(self.counting.slice(0, n), pa.scalar(first, pa.int32()))
        if len(self.value_set):
            self.fold(_relevant_rows(batch, self.wanted, mask, lines))
        numbers = batch.column(self.wanted["nhs_number"])
        ignored = pc.if_else(mask, pa.scalar(None, pa.int32()), lines)
        is_plain = _ten_digits(numbers)
        every_plain = pc.all(is_plain).as_py()
        if not every_plain:  # spaced or hyphenated: kept as the digits
            spaced = pc.replace_substring(pc.replace_substring(numbers, " ", ""), "-", "")
            numbers = pc.utf8_trim_whitespace(spaced)
            is_plain = _ten_digits(numbers)
            every_plain = pc.all(is_plain).as_py()
        self.plain.add(
            pa.table(
                {
                    "key": pc.cast(numbers.filter(is_plain), pa.int64()),
                    "line": lines.filter(is_plain),
                    "ignored": ignored.filter(is_plain),
                }
            )
        )
        if not every_plain:
            odd = pc.invert(is_plain)
            self.other.add(
                pa.table(
                    {
                        "key": numbers.filter(odd),
                        "line": lines.filter(odd),
                        "ignored": ignored.filter(odd),
                    }
                )
            )
        self.rows += n


def _ten_digits(numbers: Any) -> Any:
    return pc.and_(pc.equal(pc.utf8_length(numbers), 10), pc.ascii_is_decimal(numbers))


def _relevant_rows(batch: pa.RecordBatch, wanted: dict[str, str], mask: Any, lines: Any) -> Any:
    chosen = batch.filter(mask)
    columns = [chosen.column(wanted[f]).to_pylist() for f in ("nhs_number", "code", "date")]
    numbered = lines.filter(mask).to_pylist()
    if "value" not in wanted:
        return zip(numbered, *columns, repeat(""), strict=False)
    return zip(numbered, *columns, chosen.column(wanted["value"]).to_pylist(), strict=True)


def _first_lines(parts: list[pa.Table], key: pa.DataType) -> pa.Table:
    """One row per spelling: its first line and first line in no cluster."""
    if not parts:
        empty = {"key": pa.array([], key), "line": pa.array([], pa.int32())}
        return pa.table({**empty, "ignored": pa.array([], pa.int32())})
    grouped = (
        pa.concat_tables(parts)
        .group_by("key")  # minima: any order will do
        .aggregate([("line", "min"), ("ignored", "min")])
    )
    return grouped.select(["key", "line_min", "ignored_min"]).rename_columns(
        ["key", "line", "ignored"]
    )


class _Spellings:
    """Each spelling's first lines, gathered a batch at a time and grouped as they grow
    (a grouped table is one row per spelling: memory stays that of the distinct ones).
    Integer spellings are grouped in `PARTITIONS` parts by their low bits, each part on
    its own, so the hash tables grouping needs are a part's size, not the whole's."""

    def __init__(self, key: pa.DataType) -> None:
        self.key = key
        self.partitions = PARTITIONS if pa.types.is_integer(key) else 1
        self.grouped: list[pa.Table | None] = [None] * self.partitions
        self.parts: list[pa.Table] = []
        self.pending = 0

    def add(self, part: pa.Table) -> None:
        self.parts.append(part)
        self.pending += part.num_rows
        if self.pending >= GROUP_EVERY:
            self._group()

    def table(self) -> pa.Table:
        self._group()
        done = [t for t in self.grouped if t is not None]
        return pa.concat_tables(done) if done else _first_lines([], self.key)

    def _group(self) -> None:
        if not self.parts:
            return
        pending = pa.concat_tables(self.parts)
        self.parts, self.pending = [], 0
        for i in range(self.partitions):
            piece = pending
            if self.partitions > 1:
                low = pc.bit_wise_and(pending.column("key"), self.partitions - 1)
                piece = pending.filter(pc.equal(low, i))
            grouped = self.grouped[i]
            parts = [piece] if grouped is None else [grouped, piece]
            self.grouped[i] = _first_lines(parts, self.key)
        pa.default_memory_pool().release_unused()
