"""GP list import: bad rows, re-import, one transaction, formats, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.clock import FixedClock
from app.data import bulk
from app.data.db import Database
from app.data.models import ImportBatch, Patient
from app.services import importing
from app.services.practices import PracticeError, add_practice
from tests.builders import nhs_numbers

N = nhs_numbers(20)
HEADER = "NHS Number,Forename,Surname,Date of Birth,Sex,Ethnicity,Postcode,Mobile,IMD Decile,Conditions,Last NHS Health Check"  # noqa: E501


def _write(tmp_path: Path, text: str, name: str = "list.csv", *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def _import(
    db: Database, clock: FixedClock, source: object, **kw: object
) -> importing.ImportResult:
    return importing.import_patients(
        db, source, practice_ods="F84003", now=clock.now(), allow_test_numbers=True, **kw
    )  # type: ignore[arg-type]


def _patients(db: Database) -> dict[str, Patient]:
    with db.transaction() as session:
        return {p.nhs_number: p for p in session.scalars(select(Patient))}


@pytest.fixture
def practice(db: Database, clock: FixedClock) -> None:
    add_practice(db, ods="F84003", name="Test Practice", now=clock.now())


@pytest.mark.usefixtures("practice")
def test_every_bad_row_kind_is_rejected_with_its_line_and_reason_and_the_rest_load(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    bad_check = N[1][:9] + str((int(N[1][9]) + 1) % 10)
    rows = [
        HEADER,
        f"{N[0]},Ann,Good,1975-06-01,F,A,e1 1aa,07700 900001,3,,",  # line 2: fine
        f"{bad_check},Bad,Check,1975-06-01,F,A,,07700 900002,3,,",  # 3: modulus 11
        ",No,Number,1975-06-01,F,A,,,3,,",  # 4: missing NHS number
        f"{N[2]},No,Dob,,M,A,,,3,,",  # 5: missing date of birth
        f"{N[3]},Bad,Dob,31/02/1970,M,A,,,3,,",  # 6: impossible date
        f"{N[4]},Future,Dob,2030-01-01,M,A,,,3,,",  # 7: future
        f"{N[5]},Odd,Dob,1970/01/01,M,A,,,3,,",  # 8: not a date
        f"{N[0]},Ann,Again,1975-06-01,F,A,,,3,,",  # 9: duplicate of line 2
        f"{N[6]},Warn,Ings,03-Dec-1975,X,Martian,,020 7946 0000,11,odd;diabetes,31/13/2020",
        "",  # a blank line is skipped, not a row
        f"{N[7]},Short,Row,14/01/1980",  # 12: short row: the missing columns are blank
    ]
    path = _write(tmp_path, "\n".join(rows) + "\n")

    result = _import(db, clock, path)

    assert (result.rows, result.added, result.rejected) == (10, 3, 7)
    rejected = {p["line"]: p["reason"] for p in result.problems if p["kind"] == "rejected"}
    assert "fails the modulus 11 check" in rejected[3]
    assert rejected[4] == "missing NHS number"
    assert rejected[5] == "missing date of birth"
    assert "impossible date" in rejected[6]
    assert "in the future" in rejected[7]
    assert "not a date" in rejected[8]
    assert rejected[9] == f"duplicate NHS number {N[0]} (first on line 2)"
    warnings = [p["reason"] for p in result.problems if p["kind"] == "warning"]
    assert any("unknown sex 'X'" in w for w in warnings)
    assert any("unknown ethnicity 'Martian'" in w for w in warnings)
    assert any("unknown condition 'odd'" in w for w in warnings)
    assert any("IMD decile '11'" in w for w in warnings)
    assert any("last health check" in w for w in warnings)
    assert result.rejected_path == tmp_path / "list.csv.rejected.csv"
    with result.rejected_path.open(newline="") as f:
        written = list(csv.DictReader(f))
    assert [int(r["line"]) for r in written] == [3, 4, 5, 6, 7, 8, 9]
    assert written[0]["NHS Number"] == bad_check and written[0]["reason"] == rejected[3]

    patients = _patients(db)
    assert set(patients) == {N[0], N[6], N[7]}
    warned = patients[N[6]]
    assert (warned.sex, warned.ethnic_category, warned.ethnic_group) == ("0", None, "not_stated")
    assert (warned.conditions, warned.imd_decile, warned.last_health_check) == (
        "diabetes",
        None,
        None,
    )
    assert warned.unrecognised_conditions == "odd"
    assert (warned.mobile, warned.mobile_status) == (None, "landline")
    assert warned.date_of_birth == date(1975, 12, 3)
    good = patients[N[0]]
    assert (good.mobile, good.mobile_status, good.postcode) == ("+447700900001", "ok", "E1 1AA")
    with db.transaction() as session:
        batch = session.scalars(select(ImportBatch)).one()
        assert (batch.rows, batch.added, batch.rejected, batch.kind) == (10, 3, 7, "patients")
        assert batch.problems[0]["line"] == 3


@pytest.mark.usefixtures("practice")
def test_reimport_updates_by_nhs_number_and_counts_added_updated_unchanged_rejected(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    first = [HEADER] + [f"{N[i]},P{i},S,1970-01-0{i + 1},M,A,,07700 90000{i},3,," for i in range(4)]
    _import(db, clock, _write(tmp_path, "\n".join(first)))
    ids_before = {n: p.id for n, p in _patients(db).items()}
    clock.advance(days=30)
    second = [
        HEADER,
        f"{N[0]},P0,S,1970-01-01,M,A,,07700 900000,3,,",  # unchanged
        f"{N[1]},P1,Renamed,1970-01-02,M,A,,07700 900001,3,,",  # updated
        f"{N[2]},P2,S,1970-01-03,M,A,,07700 900999,3,hypertension,",  # updated
        f"{N[4]},New,S,1970-01-05,M,A,,,3,,",  # added
        f"{N[5]},Bad,S,,M,A,,,3,,",  # rejected
    ]
    result = _import(db, clock, _write(tmp_path, "\n".join(second)))
    assert (result.added, result.updated, result.unchanged, result.rejected) == (1, 2, 1, 1)
    patients = _patients(db)
    assert len(patients) == 5  # N[3] stays: not in the new file is not deleted
    assert {n: patients[n].id for n in ids_before} == ids_before  # never duplicated
    assert patients[N[1]].family_name == "Renamed"
    assert patients[N[2]].conditions == "hypertension"
    assert patients[N[2]].mobile == "+447700900999"
    assert patients[N[1]].updated_at == clock.now()
    assert patients[N[0]].updated_at < clock.now()

    again = _import(db, clock, _write(tmp_path, "\n".join(second)))
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 1)


@pytest.mark.usefixtures("practice")
def test_an_import_that_fails_half_way_leaves_the_database_as_it_was(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    numbers = nhs_numbers(300, start=10_000)
    rows = [HEADER] + [f"{n},A,B,1970-01-01,M,A,,,3,," for n in numbers]
    path = _write(tmp_path, "\n".join(rows))
    _import(db, clock, _write(tmp_path, "\n".join(rows[:51]), name="first.csv"))
    before = _patients(db)
    batches_done = []

    def die_after_two_batches(n: int) -> None:
        batches_done.append(n)
        if len(batches_done) == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _import(db, clock, path, progress=die_after_two_batches, batch_size=100)

    assert len(batches_done) == 2
    after = _patients(db)
    assert set(after) == set(before)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 1
    assert not (tmp_path / "list.csv.rejected.csv").exists()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.usefixtures("practice")
def test_bom_crlf_quoted_fields_and_header_aliases_are_read(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    text = (
        "nhs_no,FIRST NAME,Family-Name,D.O.B.,gender,Ethnic Category,Mobile Phone,Extra\r\n"
        f'"{N[0][:3]} {N[0][3:6]} {N[0][6:]}","Mary, Jane",O\'Neil,14/01/1980,Female,'
        f'"Asian or Asian British - Bangladeshi",+44 7700 900123,x\r\n'
    )
    result = _import(db, clock, _write(tmp_path, text, bom=True))
    assert (result.added, result.rejected) == (1, 0)
    assert result.ignored_columns == ("Extra",)
    patient = _patients(db)[N[0]]
    assert (patient.given_name, patient.sex, patient.ethnic_group) == ("Mary, Jane", "2", "asian")
    assert patient.mobile == "+447700900123"


@pytest.mark.usefixtures("practice")
def test_a_missing_required_column_stops_the_import_with_one_message_naming_it(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = _write(tmp_path, "NHS Number,Forename\n" + f"{N[0]},A\n")
    with pytest.raises(importing.ImportFileError, match="'Date of Birth'"):
        _import(db, clock, path)
    assert _patients(db) == {}


def test_an_unknown_practice_is_refused(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n")
    with pytest.raises(PracticeError, match="F84003"):
        _import(db, clock, path)


@pytest.mark.usefixtures("practice")
def test_a_text_stream_upload_imports_like_a_file(db: Database, clock: FixedClock) -> None:
    data = ("\ufeff" + HEADER + "\r\n" + f"{N[0]},A,B,1970-01-01,M,A,,,3,,\r\n").encode()
    rejects = io.StringIO()
    result = _import(db, clock, importing.open_text_upload(data), rejected_out=rejects)
    assert (result.added, result.file_name) == (1, "upload.csv")
    assert rejects.getvalue().startswith("line,reason,NHS Number")


@pytest.mark.usefixtures("practice")
def test_drama_range_mobiles_are_not_usable_when_test_numbers_are_not_allowed(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = _write(tmp_path, HEADER + "\n" + f"{N[0]},A,B,1970-01-01,M,A,,07700 900123,3,,\n")
    result = importing.import_patients(
        db, path, practice_ods="F84003", now=clock.now(), allow_test_numbers=False
    )
    assert result.no_usable_mobile == {"invalid": 1}
    assert _patients(db)[N[0]].mobile is None


@pytest.mark.usefixtures("practice")
def test_progress_is_reported_in_batches_that_add_up_to_the_rows_read(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    numbers = nhs_numbers(250, start=20_000)
    lines = [HEADER] + [f"{n},A,B,1970-01-01,M,A,,,3,," for n in numbers]
    path = _write(tmp_path, "\n".join(lines))
    seen: list[int] = []
    result = _import(db, clock, path, progress=seen.append, batch_size=100)
    assert seen == [100, 100, 50] and result.added == 250
    assert importing.count_data_rows(path) == 250


@pytest.mark.usefixtures("practice")
def test_merging_in_chunks_counts_the_same_and_a_later_failure_still_undoes_them(
    db: Database, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk._PostgresUpsert, "MERGE_EVERY", 100)
    numbers = nhs_numbers(350, start=40_000)
    first = [HEADER] + [f"{n},A,B,1970-01-01,M,A,,,3,," for n in numbers[:200]]
    result = _import(db, clock, _write(tmp_path, "\n".join(first), name="a.csv"), batch_size=50)
    assert (result.added, result.updated, result.unchanged) == (200, 0, 0)

    second = [HEADER] + [
        f"{n},A,{'C' if i % 2 else 'B'},1970-01-01,M,A,,,3,," for i, n in enumerate(numbers)
    ]
    path = _write(tmp_path, "\n".join(second), name="b.csv")
    result = _import(db, clock, path, batch_size=50)
    assert (result.added, result.updated, result.unchanged) == (150, 100, 100)

    before = {n: p.family_name for n, p in _patients(db).items()}
    third = [HEADER] + [f"{n},A,Z,1970-01-01,M,A,,,3,," for n in numbers + nhs_numbers(50)]
    calls: list[int] = []

    def fail_late(n: int) -> None:
        calls.append(n)
        if len(calls) == 6:  # after 300 rows: three chunks merged on PostgreSQL
            raise OSError("killed")

    with pytest.raises(OSError, match="killed"):
        _import(db, clock, _write(tmp_path, "\n".join(third), name="c.csv"),
                batch_size=50, progress=fail_late)  # fmt: skip
    assert {n: p.family_name for n, p in _patients(db).items()} == before


@pytest.mark.usefixtures("practice")
def test_language_and_interpreter_columns_are_read_and_unknown_ones_warn(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    rows = [
        "NHS Number,Date of Birth,Mobile,Main Language,Interpreter Needed",
        f"{N[0]},1975-06-01,07700 900001,pl,Y",
        f"{N[1]},1975-06-01,07700 900002,Bengali,",
        f"{N[2]},1975-06-01,07700 900003,اردو,no",
        f"{N[3]},1975-06-01,07700 900004,Klingon,perhaps",
        f"{N[4]},1975-06-01,07700 900005,,",
    ]
    result = _import(db, clock, _write(tmp_path, "\n".join(rows) + "\n"))

    assert (result.added, result.rejected) == (5, 0)
    got = {n: (p.language, p.interpreter_needed) for n, p in _patients(db).items()}
    assert got == {
        N[0]: ("pl", True),
        N[1]: ("bn", False),
        N[2]: ("ur", False),
        N[3]: ("en", False),
        N[4]: ("en", False),
    }
    warnings = [p["reason"] for p in result.problems if p["kind"] == "warning"]
    assert any("Klingon" in w and "English" in w for w in warnings)
    assert any("perhaps" in w for w in warnings)


@pytest.mark.usefixtures("practice")
def test_a_list_without_a_language_column_keeps_the_recorded_language(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    with_language = f"NHS Number,Date of Birth,Language\n{N[0]},1975-06-01,Polish\n"
    _import(db, clock, _write(tmp_path, with_language, "a.csv"))
    without = f"NHS Number,Date of Birth,Forename\n{N[0]},1975-06-01,Ann\n"
    _import(db, clock, _write(tmp_path, without, "b.csv"))

    patient = _patients(db)[N[0]]
    assert (patient.language, patient.given_name) == ("pl", "Ann")
