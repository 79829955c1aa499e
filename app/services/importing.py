"""Patient list import: a GP system's CSV export into the practice's patients, in one transaction.

The file is streamed (never held in memory): each row is checked in Python (NHS number
modulus 11, date of birth, duplicates within the file, mobile, conditions) in a parser
thread, and good rows are merged into `patient` by set-based `INSERT ... SELECT ... ON
CONFLICT (practice_id, nhs_number) DO UPDATE ... WHERE <something changed>` statements
(PostgreSQL: from a temporary table filled by COPY, a merge every 100,000 rows; SQLite:
from a batch bound as one JSON array), so a re-import updates patients by NHS number
and never duplicates them. Rejected rows, with their line numbers and
reasons, go to `FILE.rejected.csv` beside the input. If anything fails half way, the
transaction rolls back and the database is as it was.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.clock import LONDON
from app.data.base import UTCDateTime
from app.data.db import Database
from app.data.models import CampaignMember, ImportBatch, Offer, Patient, Practice
from app.domain import eligibility, ethnicity, nhs_number, phone
from app.domain.csv_headers import PATIENT_COLUMNS, match_headers
from app.domain.dates import DateFormatError, parse_date
from app.services import audit
from app.services.condition_review import sync_holds
from app.services.offer_state import close_open_offers
from app.services.practices import require_by_ods

BATCH_SIZE = 5_000
MAX_STORED_PROBLEMS = 1_000  # ImportBatch.problems keeps a sample; the CSV has them all
PROGRESS_BAR_ROWS = 10_000  # the CLI shows a progress bar above this many rows
# A file that would mark more than this share of the listed patients (and more than
# MASS_REMOVAL_MIN of them) as gone is more likely a partial export than a whole list:
# the import stops unless the caller says it is the whole list (allow_removals).
MASS_REMOVAL_SHARE = 0.25
MASS_REMOVAL_MIN = 50

Progress = Callable[[int], None]

_staging_metadata = MetaData()
# Every NHS number the file lists, for marking the practice's patients it does not.
LISTED = Table(
    "import_listed",
    _staging_metadata,
    Column("nhs_number", String(10), primary_key=True),
    prefixes=["TEMPORARY"],
)
# The staging table: one row per accepted CSV row, already normalised, in the order the
# row checker yields them; names and types are patient's own.
STAGED = (
    "nhs_number", "given_name", "family_name", "date_of_birth", "sex", "ethnic_category",
    "ethnic_group", "postcode", "lsoa", "imd_decile", "imd_edition", "mobile",
    "mobile_status", "conditions", "unrecognised_conditions", "last_health_check",
)  # fmt: skip
STAGING = Table(
    "patient_import",
    _staging_metadata,
    *(Column(name, Patient.__table__.c[name].type) for name in STAGED),
    prefixes=["TEMPORARY"],
)
# the columns a re-import may change (never opted_out_at: that is the patient's choice)
UPDATABLE = tuple(name for name in STAGED if name != "nhs_number")


class ImportFileError(ValueError):
    """The file cannot be imported at all (no header, a required column missing, not UTF-8)."""


@dataclass
class ImportResult:
    batch_id: int
    file_name: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    left_list: int = 0  # patients of the practice this list no longer has
    warnings: int = 0
    held_for_review: int = 0  # rows with a condition the vocabulary does not know
    no_usable_mobile: dict[str, int] = field(default_factory=dict)  # status -> count
    ignored_columns: tuple[str, ...] = ()
    rejected_path: Path | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)  # a capped sample


@dataclass
class _Tally:
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

    def problem(self, line: int, kind: str, reason: str) -> None:
        if len(self.problems) < MAX_STORED_PROBLEMS:
            self.problems.append({"line": line, "kind": kind, "reason": reason})


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


def import_patients(
    db: Database,
    source: str | Path | IO[str],
    *,
    practice_ods: str,
    now: datetime,
    imported_by: str = "system",
    allow_test_numbers: bool,
    file_name: str | None = None,
    rejected_out: IO[str] | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    allow_removals: bool = False,
) -> ImportResult:
    """Load a practice's whole patient list from a CSV path or text stream, in one transaction.

    Rows are rejected (with line number and reason) for an NHS number failing the
    modulus 11 check, a missing, impossible or future date of birth, or an NHS number
    already accepted earlier in the file; rejected rows never stop the rest. Unknown
    conditions, sex, ethnicity, IMD decile or health-check dates are warnings: the row
    is kept. A landline or invalid mobile keeps the patient with no usable mobile.
    `allow_test_numbers` accepts Ofcom drama-range mobiles (never in production).
    For a path, rejected rows go to FILE.rejected.csv beside it; for a stream, to
    `rejected_out` if given. `progress(n)` is called as each batch of n rows is staged.
    The file is the practice's whole list: patients it no longer has (by NHS number)
    are marked as having left the list, their queued invitations are cancelled and
    their open offers withdrawn. If that would be more than MASS_REMOVAL_SHARE of the
    list, the import stops with ImportFileError unless `allow_removals`.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        name = file_name or path.name
        final_rejects = rejected_path_for(path)
        tmp_rejects = final_rejects.with_name(final_rejects.name + ".part")
        try:
            with (
                path.open(encoding="utf-8-sig", newline="") as stream,
                tmp_rejects.open("w", encoding="utf-8", newline="") as rejects,
            ):
                result = _import(
                    db, stream, name, rejects, practice_ods, now, imported_by,
                    allow_test_numbers, progress, batch_size, allow_removals,
                )  # fmt: skip
        except BaseException:
            tmp_rejects.unlink(missing_ok=True)
            raise
        if result.rejected:
            os.replace(tmp_rejects, final_rejects)
            result.rejected_path = final_rejects
        else:
            tmp_rejects.unlink()
            final_rejects.unlink(missing_ok=True)  # a stale list from an earlier import
        return result
    return _import(
        db, source, file_name or str(getattr(source, "name", "upload.csv")), rejected_out,
        practice_ods, now, imported_by, allow_test_numbers, progress, batch_size,
        allow_removals,
    )  # fmt: skip


def _import(
    db: Database,
    stream: IO[str],
    name: str,
    rejects: IO[str] | None,
    practice_ods: str,
    now: datetime,
    imported_by: str,
    allow_test_numbers: bool,
    progress: Progress | None,
    batch_size: int,
    allow_removals: bool,
) -> ImportResult:
    # NUL never belongs in a CSV, and PostgreSQL text cannot hold it: drop it
    reader = csv.reader(line.replace("\x00", "") if "\x00" in line else line for line in stream)
    try:
        headers = next(reader, None)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name} is not UTF-8 text: {exc.reason}") from None
    if not headers or not any(h.strip() for h in headers):
        raise ImportFileError(f"{name} has no header row")
    headers[0] = headers[0].lstrip("\ufeff")  # a BOM on a stream opened without utf-8-sig
    match = match_headers(headers)
    if match.missing:
        raise ImportFileError(
            f"{name} has no {' or '.join(repr(m) for m in match.missing)} column "
            f"(headers found: {', '.join(headers)})"
        )
    reject_writer = csv.writer(rejects) if rejects is not None else None
    if reject_writer is not None:
        reject_writer.writerow(["line", "reason", *headers])

    tally = _Tally()
    try:
        return _load(
            db, reader, headers, match, name, reject_writer, tally, practice_ods, now,
            imported_by, allow_test_numbers, progress, batch_size, allow_removals,
        )  # fmt: skip
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name} is not UTF-8 text (after line {reader.line_num}): {exc.reason}"
        ) from None
    except csv.Error as exc:
        raise ImportFileError(f"{name} line {reader.line_num}: {exc}") from None


def _load(
    db: Database,
    reader: Any,
    headers: list[str],
    match: Any,
    name: str,
    reject_writer: Any,
    tally: _Tally,
    practice_ods: str,
    now: datetime,
    imported_by: str,
    allow_test_numbers: bool,
    progress: Progress | None,
    batch_size: int,
    allow_removals: bool,
) -> ImportResult:
    with db.transaction() as session:
        practice = require_by_ods(session, practice_ods)
        # one import of a practice at a time: a second waits here until the first has
        # committed, then sees its patients (FOR NO KEY UPDATE leaves foreign-key
        # checks on the practice row, such as new slots, unblocked)
        session.execute(
            select(Practice.id).where(Practice.id == practice.id).with_for_update(key_share=True)
        )
        listed_before = _listed_count(session, practice.id)
        batch = ImportBatch(
            practice_id=practice.id,
            kind="patients",
            file_name=name[:400],
            imported_by=imported_by,
            started_at=now,
            problems=[],
        )
        session.add(batch)
        session.flush()
        conn = session.connection()
        rows = _checked_rows(
            reader, headers, match.columns, tally, reject_writer, now, allow_test_numbers
        )
        staged = 0
        reported = 0
        # the loader must be closed on any error (a PostgreSQL COPY left open would make
        # the rollback wait for data that never comes); the parser thread is stopped and
        # joined on any error too
        with (
            _loader(conn, practice.id, now) as loader,
            _Parser(
                rows,
                batch_size,
                tally,
                threaded=True,
                encode=loader.encode,
                ahead=loader.ahead(batch_size),
            ) as parser,
        ):
            for chunk, staged_rows, rows_read in parser:
                loader.load(chunk, staged_rows)
                staged += staged_rows
                if progress is not None:
                    progress(rows_read - reported)
                    reported = rows_read
            if progress is not None and tally.rows > reported:
                progress(tally.rows - reported)
        existing, changed = loader.finish()
        left = 0
        if listed_before:
            left = _mark_left(session, practice.id, tally.listed, now)
            if left > max(listed_before * MASS_REMOVAL_SHARE, MASS_REMOVAL_MIN) and not (
                allow_removals
            ):
                raise ImportFileError(
                    f"{name} does not list {left:,} of the practice's {listed_before:,} "
                    f"patients ({left / listed_before:.0%}): is it the whole list? Nothing "
                    "was imported. If it is, import it again allowing removals "
                    "(--allow-removals)."
                )
        sync_holds(session, Patient.practice_id == practice.id, now=now)
        added = staged - existing
        updated = changed - added
        batch.rows = tally.rows
        batch.added = added
        batch.updated = updated
        batch.unchanged = existing - updated
        batch.rejected = tally.rejected
        batch.left_list = left
        batch.finished_at = now
        batch.problems = tally.problems
        audit.record(
            session,
            now=now,
            actor=imported_by,
            action="patients.imported",
            target=f"practice:{practice.id}",
            detail={
                "import_batch": batch.id,
                "rows": tally.rows,
                "rejected": tally.rejected,
                "left_list": left,
            },
        )
        session.flush()
        batch_id = batch.id
    return ImportResult(
        batch_id=batch_id,
        file_name=name,
        rows=tally.rows,
        added=added,
        updated=updated,
        unchanged=existing - updated,
        rejected=tally.rejected,
        left_list=left,
        warnings=tally.warnings,
        held_for_review=tally.held,
        no_usable_mobile={k: v for k, v in tally.mobile.items() if k != phone.OK},
        ignored_columns=match.ignored,
        problems=tally.problems,
    )


def _listed_count(session: Session, practice_id: int) -> int:
    listed = select(func.count()).where(
        Patient.practice_id == practice_id, Patient.left_list_at.is_(None)
    )
    return int(session.scalar(listed) or 0)


def _mark_left(session: Session, practice_id: int, listed: dict[int, int], now: datetime) -> int:
    """Mark the practice's patients whose NHS numbers the file does not list; stop inviting them.

    The numbers go to a temporary table (COPY on PostgreSQL, one JSON array on SQLite)
    and one anti-join UPDATE marks the rest. Every patient of the practice who has
    left then loses their open offers (held slots go back), queued invitations and
    reminders, and their place in campaigns that have not invited them yet.
    """
    conn = session.connection()
    LISTED.create(conn)
    numbers = [f"{n:010d}" for n in listed]
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY import_listed (nhs_number) FROM STDIN") as copy:
            copy.write("\n".join(numbers))
    elif numbers:
        conn.exec_driver_sql(
            "INSERT INTO import_listed (nhs_number) SELECT value FROM json_each(?)",
            (json.dumps(numbers),),
        )
    still_listed = select(LISTED.c.nhs_number).where(LISTED.c.nhs_number == Patient.nhs_number)
    marked = session.execute(
        update(Patient)
        .where(
            Patient.practice_id == practice_id,
            Patient.left_list_at.is_(None),
            ~still_listed.exists(),
        )
        .values(left_list_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    LISTED.drop(conn)
    left = cast(Any, marked).rowcount or 0
    gone = select(Patient.id).where(
        Patient.practice_id == practice_id, Patient.left_list_at.is_not(None)
    )
    if left:
        # closing an offer also cancels its queued invitation and reminder
        close_open_offers(session, Offer.patient_id.in_(gone), state="withdrawn", now=now)
        session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.patient_id.in_(gone),
                CampaignMember.state.in_(("waiting", "needs_review")),
            )
            .values(state="removed", updated_at=now)
        )
    return int(left)


class _Parser:
    """Hands over batches of checked rows from a thread through a queue (or inline).

    The database works on a batch without the GIL (psycopg while the server copies or
    merges a chunk; SQLite inside the one sqlite3_step of a batch's upsert), so the
    Python checks of the next rows run on the other core meanwhile. The thread also
    encodes each batch for its loader (`encode`: COPY text, a JSON array), a few hundred
    bytes a row, so the queue can hold `ahead` batches cheaply (on PostgreSQL a whole
    merge chunk, ~10 MB, so the checks never wait for the server's merge). Errors in
    the thread (a decode error, a bad CSV) are re-raised in the caller; an error in the
    caller stops the thread. `threaded=False` runs the checks inline (for debugging).
    """

    _END = object()

    def __init__(
        self,
        rows: Iterator[tuple[Any, ...]],
        batch_size: int,
        tally: _Tally,
        *,
        threaded: bool,
        encode: Callable[[list[tuple[Any, ...]]], Any] | None = None,
        ahead: int = 4,
    ) -> None:
        self.rows = rows
        self.tally = tally
        self.threaded = threaded
        self.batch_size = batch_size
        self.encode = encode
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max(ahead, 1))
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-parser", daemon=True)

    def __enter__(self) -> _Parser:
        if self.threaded:
            self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self.threaded:
            return
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a put() on a full queue
                self.queue.get(timeout=0.05)
        self.thread.join()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _batches(self) -> Iterator[tuple[Any, int, int]]:
        """(batch, encoded if `encode`; its row count; rows read so far, rejected included)."""
        encode = self.encode
        chunk: list[tuple[Any, ...]] = []
        append = chunk.append
        size = self.batch_size
        for row in self.rows:
            append(row)
            if len(chunk) >= size:
                yield (encode(chunk) if encode else chunk), len(chunk), self.tally.rows
                chunk = []
                append = chunk.append
        if chunk:
            yield (encode(chunk) if encode else chunk), len(chunk), self.tally.rows

    def _run(self) -> None:
        try:
            for item in self._batches():
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the caller, re-raised there
            self.error = exc
        self._put(self._END)

    def __iter__(self) -> Iterator[tuple[Any, int, int]]:
        if not self.threaded:
            yield from self._batches()
            return
        while True:
            item = self.queue.get()
            if item is self._END:
                if self.error is not None:
                    raise self.error
                return
            yield item


class _Reason(str):
    """Why a value was refused (a str subclass, so memo dicts can hold values or reasons)."""


def _checked_rows(
    reader: Any,
    headers: list[str],
    columns: dict[str, int],
    tally: _Tally,
    reject_writer: Any,
    now: datetime,
    allow_test_numbers: bool,
) -> Iterator[tuple[Any, ...]]:
    """Yield one normalised tuple (STAGED order) per good row; count and write out bad ones.

    The hot loop of a million-row import: memo dicts for values that repeat (dates,
    codes, conditions, deciles), the phone fast path and an unrolled modulus 11 keep
    it to a few microseconds a row. Dates come out as ISO text, which both databases
    take for a DATE column.
    """
    width = len(headers)
    blank = width  # index of the "" every row is padded with, for absent columns
    col = {f: columns.get(f, blank) for f in PATIENT_COLUMNS}
    i_nhs, i_dob, i_mobile = col["nhs_number"], col["date_of_birth"], col["mobile"]
    i_given, i_family, i_sex = col["given_name"], col["family_name"], col["sex"]
    i_eth, i_post, i_lsoa = col["ethnicity"], col["postcode"], col["lsoa"]
    i_imd, i_edition = col["imd_decile"], col["imd_edition"]
    i_cond, i_check = col["conditions"], col["last_health_check"]
    today = now.astimezone(LONDON).date()
    seen = tally.listed  # NHS number -> line it was accepted on (0: rejected)
    dobs: dict[str, str] = {}  # raw -> ISO date, or a _Reason
    checks: dict[str, str | None] = {"": None}
    sexes: dict[str, str | None] = {}
    ethnicities: dict[str, tuple[str | None, str, str | None]] = {}
    conditions: dict[str, tuple[str, str, str | None]] = {"": ("", "", None)}
    imds: dict[str, int | None | _Reason] = {"": None}
    postcodes: dict[str, str | None | _Reason] = {"": None}
    mobile_counts = tally.mobile
    normalise_mobile = phone.normalise_mobile
    line = 1  # the header
    for fields in reader:
        first_line = line + 1
        line = reader.line_num
        n = len(fields)
        if n <= 1 and (n == 0 or not fields[0].strip()):
            continue  # a blank line
        if n != width:
            fields = (fields + [""] * width)[:width]
        fields.append("")
        tally.rows += 1

        nhs = fields[i_nhs]
        if len(nhs) != 10 or not nhs.isdigit():
            nhs = nhs_number.clean(nhs)  # 943 476 5919, 943-476-5919
        reason: str | None = None
        nhs_ok = False
        if not nhs:
            reason = "missing NHS number"
        elif len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
            reason = f"NHS number {nhs[:20]!r} is not 10 digits"
        elif not _valid_nhs(nhs):
            reason = f"NHS number {nhs} fails the modulus 11 check"
        else:
            nhs_ok = True
        raw_dob = fields[i_dob]
        dob = dobs.get(raw_dob)
        if dob is None:
            dob = _check_dob(raw_dob, today)
            if len(dobs) < 200_000:
                dobs[raw_dob] = dob
        if type(dob) is _Reason:
            reason = dob if reason is None else f"{reason}; {dob}"
        if reason is None:
            key = int(nhs)
            earlier = seen.get(key)
            if not earlier:  # new, or only on rejected rows so far
                seen[key] = first_line
            else:
                reason = f"duplicate NHS number {nhs} (first on line {earlier})"
        elif nhs_ok:
            seen.setdefault(int(nhs), 0)  # a bad date of birth: still on the list
        if reason is not None:
            tally.rejected += 1
            tally.problem(first_line, "rejected", reason)
            if reject_writer is not None:
                reject_writer.writerow([first_line, reason, *fields[:width]])
            continue

        warnings: list[str] | None = None
        raw_sex = fields[i_sex]
        sex = sexes.get(raw_sex, "")
        if sex == "":
            sex = sexes[raw_sex] = eligibility.sex_code(raw_sex)
        if sex is None:
            warnings = [f"unknown sex {raw_sex.strip()!r} (recorded as not known)"]
            sex = "0"

        raw_eth = fields[i_eth]
        eth = ethnicities.get(raw_eth)
        if eth is None:
            eth = ethnicities[raw_eth] = _check_ethnicity(raw_eth)
        if eth[2] is not None:
            warnings = [*(warnings or ()), eth[2]]

        raw_cond = fields[i_cond]
        cond = conditions.get(raw_cond)
        if cond is None:
            cond = _check_conditions(raw_cond)
            if len(conditions) < 10_000:
                conditions[raw_cond] = cond
        if cond[2] is not None:
            warnings = [*(warnings or ()), cond[2]]
            tally.held += 1

        raw_check = fields[i_check]
        check = checks.get(raw_check, "")
        if check == "":
            check = _check_last_check(raw_check, today)
            if len(checks) < 200_000:
                checks[raw_check] = check
        if type(check) is _Reason:
            warnings = [*(warnings or ()), check]
            check = None

        raw_imd = fields[i_imd]
        imd = imds.get(raw_imd, "")
        if imd == "":
            imd = imds[raw_imd] = _check_imd(raw_imd)
        if type(imd) is _Reason:
            warnings = [*(warnings or ()), imd]
            imd = None

        raw_post = fields[i_post]
        postcode = postcodes.get(raw_post, "")
        if postcode == "":
            postcode = _check_postcode(raw_post)
            if len(postcodes) < 200_000:
                postcodes[raw_post] = postcode
        if type(postcode) is _Reason:
            warnings = [*(warnings or ()), postcode]
            postcode = None

        lsoa = fields[i_lsoa].strip() or None
        if lsoa is not None and len(lsoa) > 12:
            warnings = [*(warnings or ()), f"LSOA {lsoa!r} is too long (ignored)"]
            lsoa = None

        mobile = normalise_mobile(fields[i_mobile], allow_test_range=allow_test_numbers)
        status = mobile[1]
        mobile_counts[status] = mobile_counts.get(status, 0) + 1

        if warnings is not None:
            tally.warnings += len(warnings)
            for warning in warnings:
                tally.problem(first_line, "warning", warning)
        yield (
            nhs,
            fields[i_given].strip()[:100] or None,
            fields[i_family].strip()[:100] or None,
            dob,
            sex,
            eth[0],
            eth[1],
            postcode,
            lsoa,
            imd,
            fields[i_edition].strip()[:10] or None,
            mobile[0],
            status,
            cond[0],
            cond[1],
            check,
        )


def _valid_nhs(value: str) -> bool:
    """nhs_number.is_valid unrolled over ten ASCII digits: the same rule, ~4x faster."""
    b = value.encode("ascii")
    total = (
        (b[0] * 10 + b[1] * 9 + b[2] * 8 + b[3] * 7 + b[4] * 6 + b[5] * 5 + b[6] * 4 + b[7] * 3)
        + b[8] * 2
        - 48 * 54
    )  # 54 = the sum of the weights, for the ASCII '0' offsets
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == b[9] - 48


def _check_dob(raw: str, today: date) -> str:
    """The date of birth as ISO text, or a _Reason the row is rejected."""
    if not raw.strip():
        return _Reason("missing date of birth")
    try:
        dob = parse_date(raw)
    except DateFormatError as exc:
        return _Reason(f"date of birth: {exc}")
    if dob > today:
        return _Reason(f"date of birth {dob.isoformat()} is in the future")
    if dob.year < 1880:
        return _Reason(f"impossible date of birth: {raw.strip()!r}")
    return dob.isoformat()


def _check_last_check(raw: str, today: date) -> str | None:
    if not raw.strip():
        return None
    try:
        checked = parse_date(raw)
    except DateFormatError as exc:
        return _Reason(f"last health check: {exc} (ignored)")
    if checked > today:
        return _Reason(f"last health check {checked.isoformat()} is in the future (ignored)")
    return checked.isoformat()


def _check_imd(raw: str) -> int | None | _Reason:
    value = raw.strip()
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= 10:
        return int(value)
    return _Reason(f"IMD decile {value!r} is not 1-10 (ignored)")


def _check_postcode(raw: str) -> str | None | _Reason:
    postcode = " ".join(raw.upper().split())
    if not postcode:
        return None
    if len(postcode) > 10:
        return _Reason(f"postcode {postcode!r} is too long (ignored)")
    return postcode


def _check_ethnicity(raw: str) -> tuple[str | None, str, str | None]:
    code = ethnicity.category_code(raw)
    warning = None
    if code is None and raw.strip():
        warning = f"unknown ethnicity {raw.strip()!r} (recorded as not stated)"
    return code, ethnicity.group_of(code), warning


def _check_conditions(raw: str) -> tuple[str, str, str | None]:
    """(exclusions, unrecognised terms, warning): an unrecognised term holds the patient."""
    parsed = eligibility.parse_conditions(raw)
    warning = None
    if parsed.unknown:
        names = ", ".join(repr(u) for u in parsed.unknown)
        warning = f"unknown condition {names} (held for review: not invited until resolved)"
    return parsed.canonical, eligibility.join_unrecognised(parsed.unknown), warning


class _Loader:
    """Loads batches of checked rows into `patient` inside the import's transaction.

    Used as a context manager: leaving the block ends the bulk load (on error too);
    `finish()` afterwards completes the merge and returns the counts.
    """

    # turns a batch of checked rows into what load() takes (in the parser thread)
    encode: Callable[[list[tuple[Any, ...]]], Any] | None = None

    def __enter__(self) -> _Loader:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close(exc_info)

    def ahead(self, batch_size: int) -> int:
        """How many batches the parser may get ahead of the loader."""
        return 4

    def close(self, exc_info: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def load(self, batch: Any, rows: int) -> None:
        raise NotImplementedError

    def finish(self) -> tuple[int, int]:
        """(rows that were already there, rows inserted or changed)."""
        raise NotImplementedError


def _loader(conn: Connection, practice_id: int, now: datetime) -> _Loader:
    if conn.dialect.name == "postgresql":
        return _PostgresLoader(conn, practice_id, now)
    return _SqliteLoader(conn, practice_id, now)


def _changed_where(old: str, new: str, distinct: str) -> str:
    return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in UPDATABLE)


class _SqliteLoader(_Loader):
    """SQLite: one upsert statement a batch, the batch bound as one JSON array.

    `INSERT INTO patient SELECT ... FROM json_each(?) ON CONFLICT (practice_id,
    nhs_number) DO UPDATE ... WHERE <something changed>` runs a whole batch in one
    sqlite3_step, which releases the GIL throughout, so the parser thread checks (and
    JSON-encodes, `encode`) the next batch on the other core meanwhile. (An executemany
    would take the GIL back for every row, a convoy with the parser thread.) The
    practice id and the timestamp are literals in the statement; the timestamp is the
    text the ORM writes for a DATETIME. Added is the practice's patient count after
    less before (one writer at a time on SQLite); inserted-or-changed is the
    connection's total_changes (an upsert whose WHERE is false changes nothing and is
    not counted).
    """

    encode = staticmethod(json.dumps)

    def __init__(self, conn: Connection, practice_id: int, now: datetime) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        self.raw = raw
        self.cursor = raw.cursor()
        self.practice_id = int(practice_id)
        created = Patient.__table__.c.created_at.type
        process = created.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        stamp = process(now) if process is not None else None
        if not isinstance(stamp, str) or not set(stamp) <= set("0123456789-: .T"):
            raise RuntimeError(f"unexpected SQLite timestamp text {stamp!r}")
        columns = ", ".join(("practice_id", *STAGED, "created_at", "updated_at"))
        if sqlite3.sqlite_version_info >= (3, 38):  # ->> reads a row's array fastest
            values = ", ".join(f"value ->> {i}" for i in range(len(STAGED)))
        else:
            values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(STAGED)))
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*UPDATABLE, "updated_at"))
        updates += ", left_list_at = NULL"  # on the list again
        self.upsert = (
            f"INSERT INTO patient ({columns}) "
            f"SELECT {self.practice_id}, {values}, '{stamp}', '{stamp}' "
            "FROM json_each(?) WHERE true "  # WHERE: the upsert parsing ambiguity
            "ON CONFLICT (practice_id, nhs_number) DO UPDATE SET "
            f"{updates} WHERE {_changed_where('patient', 'excluded', 'IS NOT')} "
            "OR patient.left_list_at IS NOT NULL"
        )
        self.count = "SELECT count(*) FROM patient WHERE practice_id = ?"
        self.before = self._count()
        self.staged = 0
        self.changed = 0
        # a bigger page cache for the length of the import: the indexes of a
        # million-row list do not fit the 2 MB default, and thrashing it is slow
        self.cache_size = self.cursor.execute("PRAGMA cache_size").fetchone()[0]
        self.cursor.execute("PRAGMA cache_size = -65536")

    def _count(self) -> int:
        return int(self.raw.execute(self.count, (self.practice_id,)).fetchone()[0])

    def load(self, batch: Any, rows: int) -> None:
        if not isinstance(batch, str):
            batch = json.dumps(batch)
        before = self.raw.total_changes
        self.cursor.execute(self.upsert, (batch,))
        self.changed += self.raw.total_changes - before
        self.staged += rows

    def close(self, exc_info: tuple[Any, ...]) -> None:
        self.cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
        self.cursor.close()

    def finish(self) -> tuple[int, int]:
        added = self._count() - self.before
        return self.staged - added, self.changed


_COPY_NULL = "\\N"
_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    if value is None:
        return _COPY_NULL
    return str(value).translate(_COPY_SPECIAL)


def _copy_text(batch: list[tuple[Any, ...]]) -> bytes:
    """Checked rows (STAGED order) as PostgreSQL COPY text: tab-separated, \\N for null.

    The fast line marks nulls with NUL (which `_import` strips from the file, so no
    value holds one) and assumes no tab, newline, carriage return or backslash in any
    value (only the free-text fields could hold one); a line that has one is rebuilt
    with every value escaped.
    """
    n = "\x00"
    tabs = len(STAGED) - 1
    lines: list[str] = []
    append = lines.append
    for row in batch:
        (nhs, given, family, dob, sex, cat, group, post, lsoa, imd, edition, mobile, status,
         cond, unrecognised, check) = row  # fmt: skip
        line = (
            f"{nhs}\t{n if given is None else given}\t{n if family is None else family}\t"
            f"{dob}\t{sex}\t{n if cat is None else cat}\t{group}\t"
            f"{n if post is None else post}\t{n if lsoa is None else lsoa}\t"
            f"{n if imd is None else imd}\t{n if edition is None else edition}\t"
            f"{n if mobile is None else mobile}\t{status}\t{cond}\t{unrecognised}\t"
            f"{n if check is None else check}"
        )
        if line.count("\t") != tabs or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join(_copy_field(v) for v in row)
        else:
            line = line.replace(n, _COPY_NULL)
        append(line)
    append("")
    return "\n".join(lines).encode("utf-8")


class _PostgresLoader(_Loader):
    """PostgreSQL: COPY rows into a temporary staging table and, every MERGE_EVERY rows
    and at the end, merge it into `patient` with one set-based INSERT ... SELECT ... ON
    CONFLICT DO UPDATE ... WHERE <something changed>, then empty it. A practice's first
    import (no patients yet; imports of a practice are serialised) merges with a plain
    INSERT ... SELECT instead: nothing can conflict (the parser has rejected repeats),
    and it skips the speculative insertion ON CONFLICT costs, about a fifth of the merge.

    The parser thread hands over COPY text (`encode`), written as is. Merging in chunks
    lets the server merge one chunk while the parser thread checks the next rows
    (psycopg releases the GIL while it waits); it is all one transaction still.
    """

    MERGE_EVERY = 100_000
    encode = staticmethod(_copy_text)

    def __init__(self, conn: Connection, practice_id: int, now: datetime) -> None:
        self.conn = conn
        self.practice_id = practice_id
        self.now = now
        raw = conn.connection.driver_connection
        assert raw is not None
        self.raw: Any = raw
        conn.execute(text("DROP TABLE IF EXISTS patient_import"))
        STAGING.create(conn)
        has_patients = select(Patient.id).where(Patient.practice_id == practice_id).exists()
        self.first_import = not conn.scalar(select(has_patients))
        self.merge_sql = self._insert_statement() if self.first_import else self._upsert_statement()
        self.pending = 0
        self.existing = 0
        self.changed = 0
        self.copy_cm: Any = None
        self._start_copy()

    def ahead(self, batch_size: int) -> int:
        # room for a merge chunk and a bit: the parser runs on while the server merges
        return self.MERGE_EVERY // max(batch_size, 1) + 4

    def _start_copy(self) -> None:
        self.cursor = self.raw.cursor()
        columns = ", ".join(STAGED)
        self.copy_cm = self.cursor.copy(f"COPY patient_import ({columns}) FROM STDIN")
        self.copy = self.copy_cm.__enter__()

    def _end_copy(self, exc_info: tuple[Any, ...] = (None, None, None)) -> None:
        # on error psycopg sends CopyFail, so the server ends the COPY and the
        # transaction can roll back; on success it sends CopyDone
        copy_cm, self.copy_cm = self.copy_cm, None
        try:
            copy_cm.__exit__(*exc_info)
        finally:
            self.cursor.close()

    def load(self, batch: Any, rows: int) -> None:
        self.copy.write(batch)
        self.pending += rows
        if self.pending >= self.MERGE_EVERY:
            self._end_copy()
            self._merge()
            self._start_copy()

    def close(self, exc_info: tuple[Any, ...]) -> None:
        if self.copy_cm is not None:
            self._end_copy(exc_info)

    def finish(self) -> tuple[int, int]:
        if self.pending:
            self._merge()
        self.conn.execute(text("DROP TABLE patient_import"))
        return self.existing, self.changed

    def _insert(self) -> Any:
        patient = cast(Table, Patient.__table__)
        stamp = literal(self.now, UTCDateTime())
        source = select(
            literal(self.practice_id, Integer()), *(STAGING.c[c] for c in STAGED), stamp, stamp
        )
        return postgresql.insert(patient).from_select(
            ["practice_id", *STAGED, "created_at", "updated_at"], source
        )

    def _insert_statement(self) -> Any:
        """(rows written, rows added): the same shape as `_upsert_statement`'s answer."""
        inserted = self._insert().returning(literal_column("1").label("one")).cte("inserted")
        return select(func.count(), func.count()).select_from(inserted)

    def _upsert_statement(self) -> Any:
        patient = cast(Table, Patient.__table__)
        stmt = self._insert()
        differs = or_(
            *(patient.c[c].is_distinct_from(stmt.excluded[c]) for c in UPDATABLE),
            patient.c.left_list_at.is_not(None),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[patient.c.practice_id, patient.c.nhs_number],
            set_={
                **{c: stmt.excluded[c] for c in UPDATABLE},
                "updated_at": stmt.excluded.updated_at,
                "left_list_at": None,  # on the list again
            },
            where=differs,
        )
        # One pass counts both: RETURNING lists inserted and updated rows, and xmax = 0
        # marks a row this statement inserted (PostgreSQL's documented upsert idiom).
        # Counted through RETURNING because psycopg's rowcount is not kept after a COPY.
        upserted = stmt.returning(literal_column("xmax = 0").label("inserted")).cte("upserted")
        return select(func.count(), func.count().filter(upserted.c.inserted))

    def _merge(self) -> None:
        self.conn.execute(text("ANALYZE patient_import"))  # a temp table has no statistics
        changed, added = self.conn.execute(self.merge_sql).one()
        self.existing += self.pending - int(added or 0)
        self.changed += int(changed or 0)
        self.conn.execute(text("TRUNCATE patient_import"))
        self.pending = 0


def open_text_upload(data: bytes) -> IO[str]:
    """A text stream over uploaded bytes (a web form), BOM and CRLF handled like a file."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


__all__ = [
    "ImportFileError",
    "ImportResult",
    "count_data_rows",
    "import_patients",
    "open_text_upload",
    "rejected_path_for",
]
