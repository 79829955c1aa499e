"""A list import with a coded-events file: exclusions, checks, statins and ethnicity from
SNOMED CT entries, the same from a codes column, and bad events, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Patient
from app.services import cohort, importing
from app.services.practices import add_practice
from tests.builders import nhs_numbers
from tests.unit.test_coded import (
    CHECK_COMPLETED_ID,
    EXCLUDING_IDS,
    INDIAN_ID,
    QRISK3_ID,
    RESOLVED_IDS,
    STATIN_ID,
)

N = nhs_numbers(30, start=40_000)
ASTHMA = "195967001"  # in no cluster: ignored


@pytest.fixture
def practice(db: Database, clock: FixedClock) -> None:
    add_practice(db, ods="F84003", name="Test Practice", now=clock.now())


def _list(numbers: list[str], codes: dict[str, str] | None = None) -> str:
    header = "NHS Number,Date of Birth,Mobile" + (",SNOMED Codes" if codes is not None else "")
    rows = [header]
    for i, nhs in enumerate(numbers):
        row = f"{nhs},1970-03-0{1 + i % 9},07700 900{i:03d}"
        if codes is not None:
            row += f",{codes.get(nhs, '')}"
        rows.append(row)
    return "\n".join(rows) + "\n"


def _import(db: Database, clock: FixedClock, listing: str, events: str | None = None):  # type: ignore[no-untyped-def]
    return importing.import_patients(
        db, io.StringIO(listing), practice_ods="F84003", now=clock.now(),
        allow_test_numbers=True, events=io.StringIO(events) if events is not None else None,
        file_name="list.csv", events_file_name="events.csv",
    )  # fmt: skip


def _cohort(db: Database) -> dict[str, tuple[str, str | None]]:
    with db.transaction() as session:
        practice_id = session.scalar(select(Patient.practice_id))
        rows = session.execute(cohort.cohort_query([practice_id], date(2026, 1, 14))).mappings()
        return {r["nhs_number"]: (r["status"], r["reason"]) for r in rows}


@pytest.mark.usefixtures("practice")
def test_each_cluster_excludes_through_the_import_and_the_cohort_sql(
    db: Database, clock: FixedClock
) -> None:
    ids = sorted(EXCLUDING_IDS)
    people = N[: len(ids) + 6]
    events = ["NHS Number,SNOMED Code,Term,Date,Value"]
    events += [f"{people[i]},{code},term,2015-06-01," for i, code in enumerate(ids)]
    k = len(ids)
    events += [
        f"{people[k]},{STATIN_ID},Rosuvastatin,2025-10-01,",  # current statin
        f"{people[k + 1]},{QRISK3_ID},QRISK3,2021-02-01,23.5",
        f"{people[k + 2]},{CHECK_COMPLETED_ID},NHS Health Check completed,2023-04-01,",
        f"{people[k + 3]},{RESOLVED_IDS['HYP_COD'][0]},,2015-01-01,",
        f"{people[k + 3]},{RESOLVED_IDS['HYP_COD'][1]},,2019-01-01,",  # resolved later
        f"{people[k + 4]},{ASTHMA},Asthma,2010-01-01,",
        f"{people[k + 5]},{STATIN_ID},Rosuvastatin,2024-01-01,",  # two years ago
    ]
    result = _import(db, clock, _list(people), "\n".join(events) + "\n")
    assert (result.event_rows, result.events_used, result.events_rejected) == (
        len(events) - 1, len(events) - 2, 0,
    )  # fmt: skip
    got = _cohort(db)
    for i, code in enumerate(ids):
        assert got[people[i]] == ("excluded", "condition"), EXCLUDING_IDS[code]
    assert got[people[k]] == ("excluded", "condition")
    assert got[people[k + 1]] == ("excluded", "condition")
    assert got[people[k + 2]] == ("excluded", "recent_check")
    assert got[people[k + 3]] == ("eligible", None)
    assert got[people[k + 4]] == ("eligible", None)
    assert got[people[k + 5]] == ("eligible", None)
    with db.transaction() as session:
        patients = {p.nhs_number: p for p in session.scalars(select(Patient))}
    assert patients[people[0]].conditions == EXCLUDING_IDS[ids[0]][1]
    assert patients[people[k + 2]].last_health_check == date(2023, 4, 1)
    assert patients[people[k]].statin_issued_on == date(2025, 10, 1)


@pytest.mark.usefixtures("practice")
def test_a_codes_column_on_the_list_gives_the_same_result_as_an_events_file(
    db: Database, clock: FixedClock
) -> None:
    people = N[:4]
    chd, hyp_resolved = "10273003", RESOLVED_IDS["HYP_COD"][1]
    codes = {
        people[0]: chd,
        people[1]: f"{STATIN_ID}; {ASTHMA}",
        people[2]: INDIAN_ID,
        people[3]: f"{RESOLVED_IDS['HYP_COD'][0]};{hyp_resolved}",
    }
    _import(db, clock, _list(people, codes))
    from_column = _cohort(db)
    with db.transaction() as session:
        ethnic = {p.nhs_number: p.ethnic_category for p in session.scalars(select(Patient))}
    today = clock.now().date().isoformat()
    events = ["NHS Number,Concept ID,Effective Date"] + [
        f"{nhs},{code.strip()},{today}" for nhs, cs in codes.items() for code in cs.split(";")
    ]
    _import(db, clock, _list(people), "\n".join(events) + "\n")
    assert _cohort(db) == from_column
    assert from_column[people[0]] == ("excluded", "condition")
    assert from_column[people[1]] == ("excluded", "condition")
    assert from_column[people[2]] == ("eligible", None)
    assert from_column[people[3]] == ("eligible", None)
    assert ethnic[people[2]] == "H"


@pytest.mark.usefixtures("practice")
def test_events_for_patients_not_on_the_list_are_reported_and_never_added(
    db: Database, clock: FixedClock
) -> None:
    events = f"NHS Number,Code,Date\n{N[0]},10273003,2015-01-01\n{N[5]},10273003,2015-01-01\n"
    result = _import(db, clock, _list(N[:2]), events)
    assert result.events_unknown_patients == 1
    assert {"line": 3, "kind": "event_unknown_patient",
            "reason": f"events.csv: NHS number {N[5]} is not on the list (its entries are ignored)"
            } in result.problems  # fmt: skip
    with db.transaction() as session:
        assert sorted(session.scalars(select(Patient.nhs_number))) == sorted(N[:2])


@pytest.mark.usefixtures("practice")
def test_a_future_dated_event_is_rejected_on_its_own_and_the_rest_load(
    db: Database, clock: FixedClock
) -> None:
    events = (
        "NHS Number,SNOMED Code,Effective Date,Result\n"
        f"{N[0]},10273003,2026-01-15,\n"  # tomorrow
        f"{N[1]},10273003,2015-01-01,\n"
    )
    result = _import(db, clock, _list(N[:2]), events)
    assert result.events_rejected == 1
    reason = "events.csv: date 2026-01-15 is in the future"
    assert {"line": 2, "kind": "event_rejected", "reason": reason} in result.problems
    got = _cohort(db)
    assert got[N[0]] == ("eligible", None) and got[N[1]] == ("excluded", "condition")


@pytest.mark.usefixtures("practice")
def test_a_malformed_concept_id_stops_the_import_naming_the_line_and_loads_nothing(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    events = (
        f"NHS Number,SNOMED Code,Date\n{N[0]},10273003,2015-01-01\n{N[1]},1027300X,2015-01-01\n"
    )
    with pytest.raises(importing.ImportFileError, match=r"events.csv line 3: '1027300X'"):
        _import(db, clock, _list(N[:2]), events)
    with pytest.raises(importing.ImportFileError, match=r"list.csv line 3: 10273004 "):
        _import(db, clock, _list(N[:2], {N[1]: "10273004"}))
    with db.transaction() as session:
        assert session.scalars(select(Patient)).first() is None


def test_the_cli_takes_an_events_file_and_reports_it(  # type: ignore[no-untyped-def]
    runner, tmp_path: Path
) -> None:
    assert runner.invoke(args=["practices", "add", "--ods", "F84003", "--name", "P"]).exit_code == 0
    listing, events = tmp_path / "list.csv", tmp_path / "events.csv"
    listing.write_text(_list(N[:2]))
    events.write_text(
        "NHS Number,SNOMED Code,Date\n"
        f"{N[0]},10273003,2015-01-01\n{N[9]},10273003,2015-01-01\n{N[1]},{STATIN_ID},2030-01-01\n"
    )
    out = runner.invoke(
        args=["patients", "import", str(listing), "--practice", "F84003", "--events", str(events)]
    )
    assert out.exit_code == 0, out.output
    assert "coded events read         3" in out.output
    assert "for patients not on the list 1 (reported, not added)" in out.output
    assert "event_rejected: events.csv: date 2030-01-01 is in the future" in out.output
    bad = tmp_path / "bad.csv"
    bad.write_text(f"NHS Number,SNOMED Code,Date\n{N[0]},12,2015-01-01\n")
    out = runner.invoke(
        args=["patients", "import", str(listing), "--practice", "F84003", "--events", str(bad)]
    )
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert "bad.csv line 2: '12' is not a SNOMED CT concept id" in out.output
