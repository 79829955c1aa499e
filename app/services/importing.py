"""Patient list import: a GP system's CSV export into the practice's patients, in one transaction.

The file is streamed (never held in memory): each row is checked by the pure rules of
`app.domain.import_rows` (NHS number modulus 11, date of birth, duplicates within the
file, mobile, conditions) in a parser thread (`app.data.batches`), and good rows are
merged into `patient` by (practice, NHS number) with `app.data.bulk`'s upsert, so a
re-import updates patients by NHS number and never duplicates them. Patients the list no
longer has are marked as having left it (`app.data.patient_list`); members held for
review follow their conditions (`app.services.condition_review`). Rejected rows, with
their line numbers and reasons, go to `FILE.rejected.csv` beside the input. If anything
fails half way, the transaction rolls back and the database is as it was.
"""

from __future__ import annotations

import csv
import gc
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from app.clock import LONDON
from app.data import bulk
from app.data.batches import BatchThread
from app.data.db import Database
from app.data.models import ImportBatch, Patient
from app.data.patient_list import (
    has_patients,
    listed_count,
    lock_for_import,
    mark_left,
    sync_holds,
)
from app.domain import phone
from app.domain.coded import national_clusters
from app.domain.csv_headers import match_headers
from app.domain.event_rows import CodedRowError
from app.domain.import_rows import FIELDS, RowChecker
from app.domain.problem_groups import ProblemGroup
from app.domain.text_files import TextFileError, open_text_path
from app.services import audit
from app.services.check_outcomes import link_events, read_events_for_import
from app.services.coded_events import EventsFileError, EventsRead
from app.services.import_files import (
    PROBLEM_KINDS,
    PROBLEMS_HEADER,
    ImportFileError,
    PartialListError,
    Tally,
    checked_rows,
    count_data_rows,
    open_text_upload,
    rejected_path_for,
)
from app.services.practices import require_by_ods
from app.settings import Settings

BATCH_SIZE = 5_000
PROGRESS_BAR_ROWS = 10_000  # the CLI shows a progress bar above this many rows
# A file that would mark more than this share of the listed patients (and more than
# MASS_REMOVAL_MIN of them) as gone is more likely a partial export than a whole list:
# the import stops unless the caller says it is the whole list (allow_removals).
MASS_REMOVAL_SHARE = 0.25
MASS_REMOVAL_MIN = 50

Progress = Callable[[int], None]

# The columns each checked row carries, in order: patient's own (app.domain.import_rows).
STAGED = FIELDS
# the columns a re-import may change (never opted_out_at: that is the patient's choice)
UPDATABLE = tuple(name for name in STAGED if name != "nhs_number")
# a re-import without these columns leaves them alone: staff or the resident set them
LANGUAGE_FIELDS = ("language", "interpreter_needed")


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
    problem_groups: list[ProblemGroup] = field(default_factory=list)  # exact, largest first
    # the coded-events file, when one was given
    event_rows: int = 0
    events_used: int = 0  # entries in a cluster Nudge uses
    events_rejected: int = 0
    events_unknown_patients: int = 0  # patients the events name and the list does not
    outcomes_linked: int = 0  # outcomes linked to the attended checks they follow


class _Events(NamedTuple):
    """The events file given with a list, read once the import's transaction is open."""

    source: str | Path | IO[str]
    name: str | None
    settings: Settings


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
    events: str | Path | IO[str] | None = None,
    events_file_name: str | None = None,
    problems_out: IO[str] | None = None,
    settings: Settings | None = None,
) -> ImportResult:
    """Load a practice's whole patient list from a CSV path or text stream, in one transaction.

    Rows are rejected (with line number and reason) for an NHS number failing the
    modulus 11 check, a missing, impossible or future date of birth, or an NHS number
    already accepted earlier in the file; rejected rows never stop the rest. Unknown
    conditions, sex, ethnicity, IMD decile or health-check dates are warnings: the row
    is kept. A landline or invalid mobile keeps the patient with no usable mobile.
    `allow_test_numbers` accepts Ofcom drama-range mobiles (never in production).
    For a path, rejected rows go to FILE.rejected.csv beside it; for a stream, to
    `rejected_out` if given; every problem (line, what, problem) goes to `problems_out`
    if given, while the result counts them by kind. `progress(n)` is called as each
    batch of n rows is staged.
    The file is the practice's whole list: patients it no longer has (by NHS number)
    are marked as having left the list, their queued invitations are cancelled and
    their open offers withdrawn. If that would be more than MASS_REMOVAL_SHARE of the
    list, the import stops with ImportFileError unless `allow_removals`.
    `events` is an optional coded-events file (app.services.coded_events): its SNOMED CT
    entries add exclusions, the last check, statin issues and ethnic category to the
    listed patients; rows naming patients the list does not have are reported; entries
    after an attended check become its outcomes (app.services.check_outcomes).
    """
    # the events file is read inside the import's transaction
    coded = None if events is None else _Events(events, events_file_name, settings or Settings())
    if isinstance(source, str | Path):
        path = Path(source)
        name = file_name or path.name
        final_rejects = rejected_path_for(path)
        tmp_rejects = final_rejects.with_name(final_rejects.name + ".part")
        try:
            with (
                open_text_path(path) as stream,
                tmp_rejects.open("w", encoding="utf-8", newline="") as rejects,
            ):
                result = _import(
                    db, stream, name, rejects, practice_ods, now, imported_by,
                    allow_test_numbers, progress, batch_size, allow_removals, coded,
                    problems_out,
                )  # fmt: skip
        except TextFileError as exc:
            tmp_rejects.unlink(missing_ok=True)
            raise ImportFileError(str(exc)) from None
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
        allow_removals, coded, problems_out,
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
    coded: _Events | None = None,
    problems_out: IO[str] | None = None,
) -> ImportResult:
    # NUL never belongs in a CSV, and PostgreSQL text cannot hold it: drop it
    reader = csv.reader(line.replace("\x00", "") if "\x00" in line else line for line in stream)
    try:
        headers = next(reader, None)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name} cannot be read as text: {exc.reason}") from None
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

    tally = Tally()
    if problems_out is not None:
        tally.problems_out = csv.writer(problems_out)
        tally.problems_out.writerow(PROBLEMS_HEADER)
    try:
        return _load(
            db, reader, headers, match, name, reject_writer, tally, practice_ods, now,
            imported_by, allow_test_numbers, progress, batch_size, allow_removals, coded,
        )  # fmt: skip
    except CodedRowError as exc:
        raise ImportFileError(f"{name} {exc}") from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name} cannot be read as text (after line {reader.line_num}): {exc.reason}"
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
    tally: Tally,
    practice_ods: str,
    now: datetime,
    imported_by: str,
    allow_test_numbers: bool,
    progress: Progress | None,
    batch_size: int,
    allow_removals: bool,
    events: _Events | None,
) -> ImportResult:
    with db.transaction() as session, ExitStack() as held:
        practice = require_by_ods(session, practice_ods)
        # one import of a practice at a time: a second waits here, then sees its patients
        lock_for_import(session, practice.id)
        listed_before = listed_count(session, practice.id)
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
        coded: EventsRead | None = None
        if events is not None:
            try:
                coded = read_events_for_import(
                    session, events.source, practice_id=practice.id, now=now,
                    name=events.name, settings=events.settings,
                )  # fmt: skip
            except EventsFileError as exc:
                raise ImportFileError(str(exc)) from None
            # the folded codes (a million objects for a large practice's extract) live
            # until the import ends: frozen, the cyclic collector stops walking them at
            # every batch of the list (4-5 s of a million-row import)
            gc.freeze()
            held.callback(gc.unfreeze)
        checker = RowChecker(
            match.columns,
            len(headers),
            today=now.astimezone(LONDON).date(),
            allow_test_numbers=allow_test_numbers,
            clusters=national_clusters(),
            coded=coded.codes if coded is not None else None,
        )
        tally.listed = checker.listed
        rows = checked_rows(reader, checker, tally, reject_writer)
        staged = 0
        reported = 0
        # the loader must be closed on any error (a PostgreSQL COPY left open would make
        # the rollback wait for data that never comes); the parser thread is stopped and
        # joined on any error too
        with (
            bulk.upsert_loader(
                conn, _patient_upsert(session, practice.id, now, match.columns)
            ) as loader,
            BatchThread(
                rows,
                batch_size,
                lambda: tally.rows,
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
            left = mark_left(session, practice.id, tally.listed, now)
            if left > max(listed_before * MASS_REMOVAL_SHARE, MASS_REMOVAL_MIN) and not (
                allow_removals
            ):
                raise PartialListError(
                    f"{name} does not list {left:,} of the practice's {listed_before:,} "
                    f"patients ({left / listed_before:.0%}): is it the whole list? Nothing "
                    "was imported."
                )
        linked = link_events(session, practice.id, coded, now=now) if coded else 0
        unknown = coded.report(tally.listed, tally.problem) if coded is not None else 0
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
                **({"event_rows": coded.rows} if coded is not None else {}),
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
        problem_groups=tally.groups.largest_first(),
        event_rows=coded.rows if coded else 0,
        events_used=coded.relevant if coded else 0,
        events_rejected=coded.rejected if coded else 0,
        events_unknown_patients=unknown,
        outcomes_linked=linked,
    )


def _patient_upsert(
    session: Session, practice_id: int, now: datetime, columns: dict[str, int]
) -> bulk.Upsert:
    """Checked rows into `patient`, matched by (practice, NHS number). A practice's first
    list is a plain insert (nothing can conflict: the checker rejects repeats, and imports
    of a practice are serialised); a patient on the list again loses left_list_at."""
    updatable = tuple(name for name in UPDATABLE if name not in LANGUAGE_FIELDS or name in columns)
    return bulk.Upsert(
        table=cast(Table, Patient.__table__),
        columns=STAGED,
        key=("practice_id", "nhs_number"),
        scope=Patient.practice_id == practice_id,
        constants={"practice_id": practice_id, "created_at": now, "updated_at": now},
        updatable=updatable,
        touch=("updated_at",),
        reset={"left_list_at": None},
        fresh=not has_patients(session, practice_id),
    )


__all__ = [
    "ImportFileError",
    "PartialListError",
    "PROBLEM_KINDS",
    "ImportResult",
    "count_data_rows",
    "import_patients",
    "open_text_upload",
    "rejected_path_for",
]
