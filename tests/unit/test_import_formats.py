"""Import formats: the three date formats, header aliases and ethnic category mapping."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain import ethnicity
from app.domain.csv_headers import header_key, match_headers
from app.domain.dates import DateFormatError, parse_date, years_before


@pytest.mark.parametrize("written", ["1975-12-03", "03/12/1975", "03-Dec-1975", "3-dec-1975"])
def test_the_three_date_formats_mean_the_same_day(written: str) -> None:
    assert parse_date(written) == date(1975, 12, 3)


@pytest.mark.parametrize("written", ["31/02/1970", "1970-13-01", "29-Feb-1971", "00/01/1970"])
def test_impossible_dates_are_refused_as_impossible(written: str) -> None:
    with pytest.raises(DateFormatError, match="impossible"):
        parse_date(written)


@pytest.mark.parametrize("written", ["12/03/75", "1975.12.03", "03-Foo-1975", "yesterday", ""])
def test_other_shapes_are_not_dates(written: str) -> None:
    with pytest.raises(DateFormatError, match="not a date"):
        parse_date(written)


def test_years_before_29_february_lands_on_28_february() -> None:
    assert years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
    assert years_before(date(2028, 2, 29), 4) == date(2024, 2, 29)


def test_headers_match_ignoring_case_spaces_underscores_and_punctuation() -> None:
    assert header_key("NHS_No.") == header_key("nhs no") == "nhsno"
    match = match_headers(
        ["NHSNumber", "first_name", "FAMILY NAME", "D.O.B", "Gender", "Ethnic Origin",
         "post code", "Mobile Telephone", "lsoa", "IMD_Decile", "Conditions",
         "Last Health Check", "Favourite Colour"]
    )  # fmt: skip
    assert match.missing == ()
    assert match.ignored == ("Favourite Colour",)
    assert match.columns["nhs_number"] == 0 and match.columns["mobile"] == 7
    assert match.columns["date_of_birth"] == 3


def test_a_missing_required_column_is_named() -> None:
    assert match_headers(["Forename", "Surname", "DOB"]).missing == ("NHS Number",)
    assert match_headers(["NHS No", "Forename"]).missing == ("Date of Birth",)


def test_a_second_column_for_the_same_field_is_ignored() -> None:
    match = match_headers(["NHS Number", "DOB", "Mobile", "Mobile Phone"])
    assert match.columns["mobile"] == 2 and match.ignored == ("Mobile Phone",)


@pytest.mark.parametrize(
    ("code", "group"),
    [("A", "white"), ("B", "white"), ("C", "white"), ("D", "mixed"), ("E", "mixed"),
     ("F", "mixed"), ("G", "mixed"), ("H", "asian"), ("J", "asian"), ("K", "asian"),
     ("L", "asian"), ("M", "black"), ("N", "black"), ("P", "black"), ("R", "other"),
     ("S", "other"), ("Z", "not_stated"), ("99", "not_stated")],
)  # fmt: skip
def test_every_ethnic_category_code_maps_to_its_group(code: str, group: str) -> None:
    assert ethnicity.category_code(code.lower()) == code
    assert ethnicity.group_of(code) == group


def test_chinese_is_in_other_as_in_the_nhs_2001_census_list() -> None:
    assert ethnicity.group_of(ethnicity.category_code("Chinese")) == "other"


@pytest.mark.parametrize(
    ("label", "code"),
    [("White - British", "A"), ("British", "A"), ("Asian or Asian British - Bangladeshi", "K"),
     ("Black or Black British - African", "N"), ("Any other ethnic group", "S"),
     ("Not stated", "Z"), ("Not known", "99")],
)  # fmt: skip
def test_labels_are_recognised(label: str, code: str) -> None:
    assert ethnicity.category_code(label) == code


def test_unknown_or_blank_ethnicity_is_not_stated() -> None:
    assert ethnicity.category_code("Martian") is None
    assert ethnicity.group_of(None) == "not_stated"
