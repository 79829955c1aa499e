"""CLI: practices add, patients import, cohort preview/export, synth gp-list, demo load."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from app.data.db import Database
from app.data.models import Base
from tests.builders import nhs_numbers

N = nhs_numbers(5, start=30_000)


def _ok(runner, args: list[str]) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


def test_practices_add_then_update(runner) -> None:  # type: ignore[no-untyped-def]
    out = _ok(runner, ["practices", "add", "--ods", "f84003", "--name", "Test Practice"])
    assert out.strip() == "Added practice F84003: Test Practice"
    out = _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Renamed"])
    assert out.strip() == "Updated practice F84003: Renamed"
    assert "F84003  Renamed" in _ok(runner, ["practices", "list"])


def test_patients_import_prints_a_readable_summary_and_writes_rejects(  # type: ignore[no-untyped-def]
    runner, tmp_path: Path
) -> None:
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    path = tmp_path / "gp.csv"
    path.write_text(
        "NHS Number,DOB,Mobile,Shoe Size\n"
        f"{N[0]},1975-06-01,07700 900001,9\n"
        f"{N[1]},,07700 900002,9\n"
        f"{N[2]},01/01/1960,020 7946 0000,9\n"
    )
    out = _ok(runner, ["patients", "import", str(path), "--practice", "F84003"])
    assert "Imported gp.csv into F84003" in out
    assert "rows read                 3" in out
    assert "added                     2" in out
    assert "rejected                  1" in out
    assert "no usable mobile          1 (1 landline)" in out
    assert "Ignored columns: Shoe Size" in out
    assert "line 3: rejected: missing date of birth" in out
    assert f"Rejected rows and reasons: {path}.rejected.csv" in out
    assert (tmp_path / "gp.csv.rejected.csv").exists()


def test_a_reimport_reports_who_left_the_list_and_refuses_a_likely_partial_file(  # type: ignore[no-untyped-def]
    runner, tmp_path: Path
) -> None:
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    numbers = nhs_numbers(100, start=40_000)
    path = tmp_path / "gp.csv"
    path.write_text("NHS Number,DOB\n" + "".join(f"{n},1975-06-01\n" for n in numbers))
    assert "left the list             0" in _ok(
        runner, ["patients", "import", str(path), "--practice", "F84003"]
    )
    path.write_text("NHS Number,DOB\n" + "".join(f"{n},1975-06-01\n" for n in numbers[:90]))
    out = _ok(runner, ["patients", "import", str(path), "--practice", "F84003"])
    assert "left the list            10 (no longer listed: will not be invited)" in out
    path.write_text("NHS Number,DOB\n" + "".join(f"{n},1975-06-01\n" for n in numbers[:20]))
    result = runner.invoke(args=["patients", "import", str(path), "--practice", "F84003"])
    assert result.exit_code == 1
    assert "does not list 70 of the practice's 90 patients (78%)" in result.output
    assert "--allow-removals" in result.output
    args = ["patients", "import", str(path), "--practice", "F84003", "--allow-removals"]
    assert "left the list            70" in _ok(runner, args)


def test_patients_import_refuses_a_file_without_a_required_column(  # type: ignore[no-untyped-def]
    runner, tmp_path: Path
) -> None:
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    path = tmp_path / "gp.csv"
    path.write_text("Forename,DOB\nAnn,1975-06-01\n")
    result = runner.invoke(args=["patients", "import", str(path), "--practice", "F84003"])
    assert result.exit_code == 1
    assert "has no 'NHS Number' column" in result.output


def test_a_big_file_shows_a_progress_bar(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    path = tmp_path / "big.csv"
    _ok(runner, ["synth", "gp-list", "--rows", "10001", "--out", str(path), "--seed", "4"])
    out = _ok(runner, ["patients", "import", str(path), "--practice", "F84003"])
    assert "Importing" in out and "rows read            10,001" in out


def test_cohort_preview_and_export(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    path = tmp_path / "gp.csv"
    path.write_text(
        "NHS Number,DOB,Mobile,Conditions,Sex\n"
        f"{N[0]},1975-06-01,07700 900001,,F\n"
        f"{N[1]},1975-06-01,,,M\n"
        f"{N[2]},1975-06-01,07700 900003,CKD,M\n"
        f"{N[3]},2001-06-01,07700 900004,,M\n"
    )
    _ok(runner, ["patients", "import", str(path), "--practice", "F84003"])
    out = _ok(runner, ["cohort", "preview", "--practice", "F84003", "--on", "2026-01-14"])
    assert "Cohort for F84003 on 2026-01-14" in out
    assert "listed                             4" in out
    assert "eligible and textable              1" in out
    assert "eligible, not textable             1" in out
    assert "age outside 40-74                  1" in out
    assert "exclusion condition                1" in out
    assert "50-54                                1             1" in out
    assert "Female                               1             0" in out
    export = tmp_path / "cohort.csv"
    out = _ok(runner, ["cohort", "export", "--practice", "F84003", "--out", str(export)])
    assert out.strip() == f"Wrote 4 patients to {export}"
    with export.open() as f:
        rows = {r["nhs_number"]: (r["status"], r["reason"]) for r in csv.DictReader(f)}
    assert rows == {
        N[0]: ("eligible", ""),
        N[1]: ("not_textable", ""),
        N[2]: ("excluded", "condition"),
        N[3]: ("excluded", "age"),
    }


def test_cohort_preview_names_an_unknown_practice(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["cohort", "preview", "--practice", "Y99999"])
    assert result.exit_code == 1 and "Y99999" in result.output


def test_synth_writes_valid_importable_rows_with_only_test_numbers(  # type: ignore[no-untyped-def]
    runner, tmp_path: Path
) -> None:
    path = tmp_path / "synth.csv"
    out = _ok(runner, ["synth", "gp-list", "--rows", "500", "--out", str(path), "--seed", "1"])
    assert out.strip() == f"Wrote 500 synthetic patients to {path}"
    _ok(runner, ["practices", "add", "--ods", "F84003", "--name", "Test Practice"])
    out = _ok(runner, ["patients", "import", str(path), "--practice", "F84003"])
    assert "added                   500" in out and "rejected                  0" in out
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert all(r[0].replace(" ", "").startswith("999") for r in rows)
    mobiles = {r[7] for r in rows if r[7].replace(" ", "").endswith(tuple("0123456789"))}
    assert any("7700" in m for m in mobiles)
    assert not any("7400" in m for m in mobiles)


def test_demo_load_is_idempotent(runner, db: Database) -> None:  # type: ignore[no-untyped-def]
    out = _ok(runner, ["demo", "load"])
    assert "Practice F84003" in out and "400 synthetic patients loaded" in out

    def counts() -> dict[str, int]:
        with db.transaction() as session:
            return {
                t.name: session.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables
            }

    before = counts()
    out = _ok(runner, ["demo", "load"])
    assert "already there" in out and "400 already loaded" in out
    assert counts() == before
