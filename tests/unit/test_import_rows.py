"""One GP-list row checked by the pure rules: the values in patient's column order, the
warnings that keep a row, and the reasons that reject one."""

from __future__ import annotations

from datetime import date

from app.domain.csv_headers import match_headers
from app.domain.import_rows import FIELDS, Rejection, Row, RowChecker

HEADERS = ["NHS Number", "Date of Birth", "Mobile", "Conditions", "Sex", "IMD Decile"]
TODAY = date(2026, 1, 14)


def _checker() -> RowChecker:
    match = match_headers(HEADERS)
    return RowChecker(match.columns, len(HEADERS), today=TODAY, allow_test_numbers=True)


def test_a_good_row_gives_patient_values_in_field_order() -> None:
    row = _checker().check_row(["943 476 5919", "03/12/1975", "07700 900123", "", "F", "3"], 2)
    assert isinstance(row, Row) and row.warnings == ()
    values = dict(zip(FIELDS, row.values, strict=True))
    assert values["nhs_number"] == "9434765919"
    assert values["date_of_birth"] == "1975-12-03"
    assert (values["mobile"], values["mobile_status"]) == ("+447700900123", "ok")
    assert (values["sex"], values["imd_decile"], values["conditions"]) == ("2", 3, "")


def test_rejections_say_why_and_a_repeat_names_its_first_line() -> None:
    checker = _checker()
    assert checker.check_row(["9434765918", "1975-01-01"], 2) == Rejection(
        "NHS number 9434765918 fails the modulus 11 check"
    )
    assert checker.check_row(["", "1975-01-01"], 3) == Rejection("missing NHS number")
    assert isinstance(checker.check_row(["9434765919", "2030-01-01"], 4), Rejection)
    assert isinstance(checker.check_row(["9434765919", "1975-01-01"], 5), Row)
    assert checker.check_row(["9434765919", "1975-01-01"], 6) == Rejection(
        "duplicate NHS number 9434765919 (first on line 5)"
    )
    assert checker.listed == {9434765919: 5}


def test_an_unknown_condition_keeps_the_row_held_for_review_with_a_warning() -> None:
    row = _checker().check_row(["9434765919", "1975-01-01", "", "asthma; funny turns", "", "11"], 2)
    assert isinstance(row, Row)
    values = dict(zip(FIELDS, row.values, strict=True))
    assert (values["conditions"], values["unrecognised_conditions"]) == ("", "funny turns")
    assert values["imd_decile"] is None
    assert any("unknown condition 'funny turns'" in w for w in row.warnings)
    assert any("IMD decile '11'" in w for w in row.warnings)


def test_a_mobile_with_stray_characters_keeps_the_patient_without_a_usable_mobile() -> None:
    row = _checker().check_row(["9434765919", "1975-01-01", "07723 456789..."], 2)
    assert isinstance(row, Row)
    values = dict(zip(FIELDS, row.values, strict=True))
    assert (values["mobile"], values["mobile_status"]) == (None, "invalid")
