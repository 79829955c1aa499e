"""NHS numbers read off an events file's lines agree with a CSV reader, or say they cannot."""

from __future__ import annotations

import csv
import io

import pytest

from app.domain.event_spellings import NhsSpellings, unlisted_spellings

LINES = [
    b"9990000018,10273003,MI,2020-01-01,\n",
    b'"999 000 0026","10273003","Angina, stable","2020-01-01",""\r\n',
    b"9990000018,195967001,,2020-01-01,\n",
    b'"999""0000034",195967001,,2020-01-01,\n',
    b",195967001,,2020-01-01,",
]


def _csv_spellings(data: bytes, index: int) -> set[str]:
    return {row[index] for row in csv.reader(io.StringIO(data.decode()))}


@pytest.mark.parametrize("cut", [1, 7, 40, 200])
def test_spellings_fed_in_any_whole_lines_are_what_a_csv_reader_reads(cut: int) -> None:
    data = b"".join(LINES)
    spellings = NhsSpellings(0)
    lines = data.splitlines(keepends=True)
    for start in range(0, len(lines), cut):
        spellings.feed(b"".join(lines[start : start + cut]))
    got = {f"{n:010d}" for n in spellings.packed()} | spellings.other
    assert spellings.reliable
    assert got == _csv_spellings(data, 0)
    assert spellings.other == {"999 000 0026", '999"0000034', ""}


def test_a_later_column_is_read_past_quoted_commas() -> None:
    data = b'10273003,"Angina, stable",9990000018,x\n195967001,"a ""b"", c","999 000 0026",\n'
    spellings = NhsSpellings(2)
    spellings.feed(data)
    assert {f"{n:010d}" for n in spellings.packed()} | spellings.other == _csv_spellings(data, 2)
    assert spellings.reliable


@pytest.mark.parametrize(
    "line",
    [b'"999 000,0026",10273003\n', b'999"000,10273003\n', b'"9990000018\n'],
    ids=["comma-in-quotes", "quote-inside", "unclosed-quote"],
)
def test_a_line_this_cannot_be_sure_of_makes_the_reading_unreliable(line: bytes) -> None:
    spellings = NhsSpellings(0)
    spellings.feed(line)
    spellings.packed()
    assert not spellings.reliable


def test_unlisted_spellings_are_the_ones_naming_no_listed_patient() -> None:
    listed = {9990000018, 9990000026}
    found = unlisted_spellings(
        [9990000018, 9990000034, 9990000001], {"999 000 0026", "999-000-0042", "x"}, listed
    )
    assert sorted(found) == sorted(["9990000034", "9990000001", "999-000-0042", "x"])
