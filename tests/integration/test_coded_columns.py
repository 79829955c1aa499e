"""The events file read by Arrow reports exactly what the csv module's reading reports,
line for line, on either database, and a file Arrow cannot number by line (a row
spanning lines, a blank or short row) is read with the csv module instead."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Patient
from app.services import coded_events, importing
from app.services.coded_events import read_events
from app.services.practices import add_practice
from tests.builders import nhs_numbers
from tests.unit.test_coded import QRISK3_ID, STATIN_ID

N = nhs_numbers(12, start=41_000)
CHD = "10273003"
ASTHMA = "195967001"  # in no cluster
TODAY = date(2026, 1, 14)
EVENT_KINDS = {"event_rejected", "event_unknown_patient"}


@pytest.fixture
def practice(db: Database, clock: FixedClock) -> None:
    add_practice(db, ods="F84003", name="Test Practice", now=clock.now())


def _list(numbers: list[str]) -> str:
    rows = ["NHS Number,Date of Birth,Mobile"]
    rows += [f"{nhs},1970-03-0{1 + i % 9},07700 900{i:03d}" for i, nhs in enumerate(numbers)]
    return "\n".join(rows) + "\n"


def _spaced(nhs: str) -> str:
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def _events(*rows: str) -> str:
    return "NHS Number,SNOMED Code,Term,Effective Date,Value\n" + "".join(f"{r}\n" for r in rows)


# Every kind of row: relevant and ignored, good and bad NHS numbers (as written, spaced,
# not on the list, failing modulus 11), bad dates and values, a spelling seen twice.
MIXED = _events(
    f"{N[0]},{CHD},Angina,2015-01-01,",
    f"{_spaced(N[1])},{ASTHMA},Asthma,2016-02-02,",
    f"{N[9]},{ASTHMA},Asthma,2016-02-02,",  # not on the list: ignored row
    f"{N[10]},{CHD},MI,2016-02-02,",  # not on the list: relevant row
    f"9990000001,{ASTHMA},Asthma,2016-02-02,",  # fails modulus 11 on an ignored row
    f"9990000001,{CHD},MI,2016-02-02,",  # and on a relevant row
    f"{N[2]},{CHD},MI,2027-01-01,",  # future
    f"{N[3]},{QRISK3_ID},QRISK3,2024-05-05,high",  # not a number
    f"{N[3]},{QRISK3_ID},QRISK3,2024-05-06,23.5%",
    f'{N[4]},{STATIN_ID},"Rosuvastatin, 10mg",2025-12-01,',
    f"9990000001,{ASTHMA},Asthma,2017-02-02,",
    f"{N[9]},{CHD},MI,2013-02-02,",
)


def _event_problems(result: importing.ImportResult) -> list[dict[str, object]]:
    return sorted(
        (p for p in result.problems if p["kind"] in EVENT_KINDS),
        key=lambda p: (p["line"], p["kind"], p["reason"]),
    )


def _import(db: Database, clock: FixedClock, events: str | Path) -> importing.ImportResult:
    source = events if isinstance(events, Path) else io.StringIO(events)
    return importing.import_patients(
        db, io.StringIO(_list(N[:6])), practice_ods="F84003", now=clock.now(),
        allow_test_numbers=True, events=source, file_name="list.csv",
        events_file_name="events.csv",
    )  # fmt: skip


def _csv_reading(*args: object, **kwargs: object) -> None:
    raise AssertionError("read with the csv module")


def _expected(events: str) -> list[dict[str, object]]:
    """What the Python reading alone reports for `events` against the list N[:6]."""
    read = read_events(io.StringIO(events), today=TODAY, name="events.csv")
    problems: list[dict[str, object]] = []
    listed = {int(n) for n in N[:6]}
    read.report(listed, lambda line, kind, reason: problems.append(
        {"line": line, "kind": kind, "reason": reason}))  # fmt: skip
    return sorted(problems, key=lambda p: (p["line"], p["kind"], p["reason"]))


def _conditions(db: Database) -> dict[str, str | None]:
    with db.transaction() as session:
        rows = session.execute(select(Patient.nhs_number, Patient.conditions))
        return {nhs: conditions for nhs, conditions in rows}


@pytest.mark.usefixtures("practice")
def test_every_kind_of_row_is_reported_as_the_python_reading_reports_it(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coded_events, "_read", _csv_reading)  # Arrow reads this file
    result = _import(db, clock, MIXED)
    monkeypatch.undo()
    expected = _expected(MIXED)
    assert _event_problems(result) == expected
    assert [p["line"] for p in expected] == [4, 5, 6, 7, 8, 9]
    assert result.event_rows == 12 and result.events_used == 5
    assert result.events_rejected == 4 and result.events_unknown_patients == 2
    conditions = _conditions(db)
    assert conditions[N[0]] == "chd" and conditions[N[3]] == "cvd_risk_20"
    assert not conditions[N[1]] and not conditions[N[2]]
    with db.transaction() as session:
        assert N[9] not in set(session.scalars(select(Patient.nhs_number)))


@pytest.mark.usefixtures("practice")
@pytest.mark.parametrize(
    "events",
    [
        # a quoted term spanning two lines: the line numbers after it count both
        _events(
            f'{N[0]},{ASTHMA},"Asthma\nsecond line",2016-01-01,', f"{N[1]},{CHD},MI,2030-01-01,"
        ),
        # a blank line and a short row (Arrow refuses both): read with the csv module
        _events(
            f"{N[0]},{CHD},MI,2015-01-01,", "", f"{N[1]},{CHD}", f"{N[2]},{CHD},MI,2030-01-01,"
        ),
    ],
    ids=["quoted-line-break", "blank-and-short-rows"],
)
def test_a_file_arrow_cannot_number_by_line_is_read_with_the_csv_module_the_same(
    db: Database, clock: FixedClock, events: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallbacks: list[object] = []
    csv_reading = coded_events._read

    def counted(*args: object, **kwargs: object) -> object:
        fallbacks.append(args)
        return csv_reading(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(coded_events, "_read", counted)
    result = _import(db, clock, events)
    assert len(fallbacks) == 1
    assert _event_problems(result) == _expected(events)
    assert any(p["line"] in {4, 5} and "future" in str(p["reason"]) for p in result.problems)


@pytest.mark.usefixtures("practice")
def test_an_events_file_given_as_a_path_with_a_bom_and_crlf_lines_is_read_the_same(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(b"\xef\xbb\xbf" + MIXED.replace("\n", "\r\n").encode("utf-8"))
    result = _import(db, clock, path)
    assert _event_problems(result) == _expected(MIXED)
    assert _conditions(db)[N[0]] == "chd"


@pytest.mark.usefixtures("practice")
def test_an_events_stream_that_fails_its_own_decoding_is_an_error_naming_it(
    db: Database, clock: FixedClock
) -> None:
    raw = MIXED.encode("utf-8") + b"9990000018,10273003,Caf\xe9,2015-01-01,\n"
    upload = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    with pytest.raises(importing.ImportFileError, match="events.csv cannot be read as text"):
        importing.import_patients(
            db, io.StringIO(_list(N[:6])), practice_ods="F84003", now=clock.now(),
            allow_test_numbers=True, events=upload, file_name="list.csv",
            events_file_name="events.csv",
        )  # fmt: skip
    with db.transaction() as session:
        assert session.scalars(select(Patient)).first() is None


# a file with a byte outside ASCII in a term, saved in the encodings GP systems use
ACCENTED = MIXED + f"{N[5]},{CHD},Angine de poitrine \u2013 caf\u00e9,2015-01-01,\n"


@pytest.mark.usefixtures("practice")
@pytest.mark.parametrize("codec", ["cp1252", "utf-16", "utf-8-sig"])
@pytest.mark.parametrize("as_upload", [False, True])
def test_an_events_file_in_any_encoding_gp_systems_save_is_read_the_same(
    db: Database, clock: FixedClock, tmp_path: Path, codec: str, as_upload: bool
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(ACCENTED.encode(codec))
    if as_upload:
        upload = importing.open_text_upload(path.read_bytes(), "events.csv")
        result = importing.import_patients(
            db, io.StringIO(_list(N[:6])), practice_ods="F84003", now=clock.now(),
            allow_test_numbers=True, events=upload, file_name="list.csv",
            events_file_name="events.csv",
        )  # fmt: skip
    else:
        result = _import(db, clock, path)
    assert _event_problems(result) == _expected(ACCENTED)
    assert _conditions(db)[N[5]] == "chd"


@pytest.mark.usefixtures("practice")
def test_an_events_file_that_is_not_text_is_refused_in_plain_words(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(importing.ImportFileError, match="events.csv is an Excel workbook"):
        _import(db, clock, path)


POLISH = "315579002"  # Main spoken language Polish


@pytest.mark.usefixtures("practice")
def test_the_main_spoken_language_coded_gives_the_language_where_the_list_gives_none(
    db: Database, clock: FixedClock
) -> None:
    rows = ["NHS Number,Date of Birth,Mobile,Language"]
    rows += [f"{N[0]},1970-03-01,07700 900001,", f"{N[1]},1970-03-02,07700 900002,Urdu"]
    rows += [f"{N[2]},1970-03-03,07700 900003,"]
    events = _events(f"{N[0]},{POLISH},Polish,2019-05-01,", f"{N[1]},{POLISH},Polish,2019-05-01,")
    importing.import_patients(
        db, io.StringIO("\n".join(rows) + "\n"), practice_ods="F84003", now=clock.now(),
        allow_test_numbers=True, events=io.StringIO(events), file_name="list.csv",
        events_file_name="events.csv",
    )  # fmt: skip
    with db.transaction() as session:
        language = dict(session.execute(select(Patient.nhs_number, Patient.language)).all())
    assert language == {N[0]: "pl", N[1]: "ur", N[2]: "en"}


def _relaid(events: str, order: list[int], *, quote_all: bool, extra: list[str]) -> str:
    """`events` with its columns in `order`, quoted as some GP systems quote, CRLF ends."""
    rows = list(csv.reader(io.StringIO(events))) + [next(csv.reader([e])) for e in extra]
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, quoting=quoting, lineterminator="\r\n")
    for row in rows:
        writer.writerow([row[i] for i in order])
    return out.getvalue()


@pytest.mark.usefixtures("practice")
@pytest.mark.parametrize(
    ("order", "quote_all", "extra"),
    [
        ([0, 1, 2, 3, 4], True, []),
        ([1, 2, 0, 3, 4], False, []),
        ([1, 0, 2, 3, 4], True, []),
        # an NHS number with a comma in it, quoted: a bad number, rejected on its line
        ([0, 1, 2, 3, 4], False, [f'"999 000,0001",{ASTHMA},Asthma,2016-02-02,']),
        # no Value column at all
        ([0, 1, 2, 3], False, []),
    ],
    ids=["all-quoted", "nhs-third", "nhs-second-quoted", "comma-in-number", "no-value"],
)
def test_arrow_reads_the_columns_wherever_they_are_and_however_quoted(
    db: Database,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    order: list[int],
    quote_all: bool,
    extra: list[str],
) -> None:
    events = _relaid(MIXED, order, quote_all=quote_all, extra=extra)
    monkeypatch.setattr(coded_events, "_read", _csv_reading)
    result = _import(db, clock, events)
    monkeypatch.undo()
    assert _event_problems(result) == _expected(events)
    assert result.events_unknown_patients == 2
