"""Any events file Arrow reads gives what the csv module's reading gives: the same rows,
codes, rejections and unknown patients, line for line, or the same error; a file it
cannot number by line goes to the csv module instead. No database is involved."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import coded_events
from app.services.coded_events import EventsFileError, EventsRead, read_events
from tests.builders import nhs_numbers
from tests.unit.test_coded import INDIAN_ID, QRISK3_ID, STATIN_ID

TODAY = date(2026, 1, 14)
N = nhs_numbers(6, start=52_000)
LISTED = {int(n) for n in N[:4]}
CHD, ASTHMA = "10273003", "195967001"

numbers = st.sampled_from(
    [
        *N,  # four listed, two not
        f"{N[0][:3]} {N[0][3:6]} {N[0][6:]}",
        f"{N[5][:3]}-{N[5][3:6]}-{N[5][6:]}",
        "9990000001",  # fails modulus 11, written plainly and spaced
        "999 000 0001",
        " 999-000-0001",
        "",
        "999 000,0001",
        "12345",
    ]
)
codes = st.sampled_from([CHD, ASTHMA, QRISK3_ID, STATIN_ID, INDIAN_ID, f" {CHD}", "22253000"])
dates = st.sampled_from(["2015-01-01", "01/02/2016", "2027-01-01", "", "2016-13-01"])
values = st.sampled_from(["", "12.5", "23.5%", "high"])
terms = st.sampled_from(["", "Angina", "Rosuvastatin, 10mg", 'He said "no"', "Caf\u00e9"])
rows = st.tuples(numbers, codes, terms, dates, values)


def _text(rows: list[tuple[str, ...]], *, quote_all: bool, crlf: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n" if crlf else "\n",
    )
    writer.writerow(["NHS Number", "SNOMED Code", "Term", "Effective Date", "Value"])
    writer.writerows(rows)
    return out.getvalue()


def _outcome(read: EventsRead) -> dict[str, Any]:
    named = read.names(int(n) for n in N)  # before the report, as the import asks
    problems: list[tuple[int, str, str]] = []
    unknown = read.report(LISTED, lambda line, kind, reason: problems.append((line, kind, reason)))
    return {
        "rows": read.rows,
        "relevant": read.relevant,
        "rejected": read.rejected,
        "unknown": unknown,
        "problems": sorted(problems),
        "codes": read.codes,
        "named": named,
    }


def _both(text: str) -> tuple[Any, Any]:
    """(Arrow's reading, the csv module's), each an outcome or the error's message."""
    results = []
    for reader in (
        lambda: read_events(io.StringIO(text), today=TODAY, name="events.csv"),
        lambda: coded_events._read(io.StringIO(text), "events.csv", TODAY, None),
    ):
        try:
            results.append(_outcome(reader()))
        except EventsFileError as exc:
            results.append(str(exc))
    return results[0], results[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, max_size=25), st.booleans(), st.booleans())
def test_arrow_reads_any_file_as_the_csv_module_does(
    events: list[tuple[str, ...]], quote_all: bool, crlf: bool
) -> None:
    arrow, python = _both(_text(events, quote_all=quote_all, crlf=crlf))
    assert arrow == python


def test_a_malformed_concept_id_is_the_same_error_naming_the_same_line() -> None:
    text = _text(
        [(N[0], CHD, "", "2015-01-01", ""), (N[1], "1027300X", "", "2015-01-01", "")],
        quote_all=False,
        crlf=False,
    )
    arrow, python = _both(text)
    message = "events.csv line 3: '1027300X' is not a SNOMED CT concept id (6-18 digits)"
    assert arrow == python == message


@pytest.mark.parametrize(
    "body",
    [
        f'{N[0]},{ASTHMA},"Asthma\nsecond line",2016-01-01,\n{N[1]},{CHD},MI,2030-01-01,\n',
        f"{N[0]},{CHD},MI,2015-01-01,\n\n{N[1]},{CHD},MI,2030-01-01,\n",
        f"{N[0]},{CHD},MI,2015-01-01,\r{N[1]},{CHD},MI,2030-01-01,\n",
        f"{N[0]},{CHD}\n{N[1]},{CHD},MI,2030-01-01,\n",
    ],
    ids=["quoted-line-break", "blank-line", "lone-carriage-return", "short-row"],
)
def test_a_file_arrow_cannot_number_by_line_is_read_by_the_csv_module(
    body: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = "NHS Number,SNOMED Code,Term,Effective Date,Value\n" + body
    read_by: list[str] = []
    csv_reading = coded_events._read

    def counted(*args: Any) -> EventsRead:
        read_by.append("csv")
        return csv_reading(*args)

    monkeypatch.setattr(coded_events, "_read", counted)
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8", newline="")
    from_path = _outcome(read_events(path, today=TODAY))
    from_stream = _outcome(read_events(io.StringIO(text, newline=""), today=TODAY))
    assert read_by == ["csv", "csv"]
    assert from_path == from_stream
    assert any("future" in reason for _line, _kind, reason in from_path["problems"])


def test_a_stream_that_cannot_be_read_twice_is_read_by_the_csv_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _text([(N[0], CHD, "", "2015-01-01", "")], quote_all=False, crlf=False)

    class Once(io.StringIO):
        def seekable(self) -> bool:
            return False

    def arrow_reading(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("read by Arrow")

    monkeypatch.setattr(coded_events, "_columnar", arrow_reading)
    read = read_events(Once(text), today=TODAY, name="events.csv")
    assert read.rows == 1 and read.relevant == 1


def test_a_file_with_a_nul_byte_is_read_as_the_csv_module_reads_it() -> None:
    text = _text([(N[0], CHD, "Angina\x00", "2015-01-01", "")], quote_all=False, crlf=False)
    arrow, python = _both(text)
    assert arrow == python and arrow["relevant"] == 1
