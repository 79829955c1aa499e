"""The checker fed by a columnar reading (rows in a cluster, then NHS numbers the list
lacks) reaches the same codes, rejections and unknown-patient lines as the CSV fold."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.domain.coded import national_clusters
from app.domain.event_rows import CodedRowError, EventChecker
from tests.unit.test_coded import QRISK3_ID

TODAY = date(2026, 1, 14)
COLUMNAR = {"nhs_number": 0, "code": 1, "date": 2, "value": 3}
CHD, ASTHMA = "10273003", "195967001"
ROWS = [  # (line, NHS number, code, date, value) as written
    (2, "9990000018", CHD, "2026-01-15", ""),  # future
    (3, "9990000019", CHD, "2020-01-01", ""),  # fails modulus 11, in a cluster
    (4, "9990000018", QRISK3_ID, "2020-01-01", "high"),
    (5, "9990000019", ASTHMA, "2020-01-01", ""),  # the same bad number, no cluster
    (6, "999 000 0026", ASTHMA, "2020-01-01", ""),
    (7, "9990000018", QRISK3_ID, "2020-01-01", "21%"),
    (8, "9990000034", CHD, "2019-01-01", ""),
]


def _csv_fold() -> tuple[EventChecker, list[tuple[int, str]]]:
    text = "NHS Number,Code,Date,Value\n" + "".join(
        f"{nhs},{code},{on},{value}\n" for _, nhs, code, on, value in ROWS
    )
    reader = csv.reader(io.StringIO(text))
    next(reader)
    checker = EventChecker(COLUMNAR, 4, today=TODAY, clusters=national_clusters())
    rejected: list[tuple[int, str]] = []
    checker.fold(reader, lambda line, reason: rejected.append((line, reason)))
    checker.finish(lambda line, reason: rejected.append((line, reason)))
    return checker, rejected


def _columnar_fold() -> tuple[EventChecker, list[tuple[int, str]]]:
    checker = EventChecker(COLUMNAR, 4, today=TODAY, clusters=national_clusters())
    rejected: list[tuple[int, str]] = []
    codes = checker.relevant_codes([(CHD, 2), (QRISK3_ID, 4), (ASTHMA, 5)])
    assert sorted(codes) == sorted([CHD, QRISK3_ID])
    checker.fold_relevant(
        [r for r in ROWS if r[2] in codes], lambda line, reason: rejected.append((line, reason))
    )
    # what the database gives back: every spelling no listed patient has (none is
    # listed here), its first line, and its first line on a row in no cluster
    checker.check_spellings(
        [("9990000018", 2, None), ("9990000019", 3, 5), ("999 000 0026", 6, 6),
         ("9990000034", 8, None)],
        lambda line, reason: rejected.append((line, reason)),
    )  # fmt: skip
    return checker, rejected


def test_the_columnar_fold_matches_the_csv_fold() -> None:
    by_csv, csv_rejected = _csv_fold()
    staged, staged_rejected = _columnar_fold()
    assert (
        sorted(staged_rejected)
        == sorted(csv_rejected)
        == [
            (2, "date 2026-01-15 is in the future"),
            (3, "NHS number 9990000019 fails the modulus 11 check"),
            (4, "value 'high' is not a number"),
            (5, "NHS number 9990000019 fails the modulus 11 check"),
        ]
    )
    assert staged.lines == by_csv.lines == {9990000018: 2, 9990000026: 6, 9990000034: 8}
    assert staged.relevant == by_csv.relevant == 2
    assert {n: c.conditions() for n, c in staged.codes.items()} == {
        n: c.conditions() for n, c in by_csv.codes.items()
    }
    assert staged.codes[9990000018].conditions() == {"cvd_risk_20"}


def test_the_malformed_code_on_the_earliest_line_stops_the_columnar_reading() -> None:
    checker = EventChecker(COLUMNAR, 4, today=TODAY, clusters=national_clusters())
    with pytest.raises(CodedRowError, match="line 3: '12'"):
        checker.relevant_codes([(CHD, 2), ("1027300X", 9), ("12", 3)])
