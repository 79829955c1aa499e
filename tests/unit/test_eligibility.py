"""Eligibility rules: age in completed years, the five-year rule, conditions, reasons, bands."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import eligibility as rules
from app.domain.eligibility import Decision, decide

ON = date(2026, 1, 14)


def _decide(**overrides: object) -> Decision:
    args: dict[str, object] = dict(
        date_of_birth=date(1975, 6, 1),
        on=ON,
        conditions="",
        last_health_check=None,
        opted_out_at=None,
        mobile="+447700900001",
    )
    args.update(overrides)
    return decide(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("on", "age"),
    [(date(2026, 3, 9), 39), (date(2026, 3, 10), 40), (date(2026, 3, 11), 40)],
)
def test_age_on_the_day_before_of_and_after_the_40th_birthday(on: date, age: int) -> None:
    assert rules.age_on(date(1986, 3, 10), on) == age


def test_not_eligible_the_day_before_the_40th_birthday_and_eligible_on_it() -> None:
    dob = date(1986, 3, 10)
    assert _decide(date_of_birth=dob, on=date(2026, 3, 9)) == Decision("excluded", "age")
    assert _decide(date_of_birth=dob, on=date(2026, 3, 10)) == Decision("eligible", None)
    assert _decide(date_of_birth=dob, on=date(2026, 3, 11)) == Decision("eligible", None)


def test_eligible_the_day_before_the_75th_birthday_and_not_on_or_after_it() -> None:
    dob = date(1951, 3, 10)
    assert _decide(date_of_birth=dob, on=date(2026, 3, 9)) == Decision("eligible", None)
    assert _decide(date_of_birth=dob, on=date(2026, 3, 10)) == Decision("excluded", "age")
    assert _decide(date_of_birth=dob, on=date(2026, 3, 11)) == Decision("excluded", "age")


def test_a_29_february_birthday_is_reached_on_1_march_in_a_common_year() -> None:
    leap = date(1988, 2, 29)
    assert rules.age_on(leap, date(2028, 2, 28)) == 39
    assert rules.age_on(leap, date(2028, 2, 29)) == 40
    assert rules.age_on(leap, date(2027, 2, 28)) == 38
    assert rules.age_on(leap, date(2027, 3, 1)) == 39
    assert _decide(date_of_birth=date(1987, 2, 28), on=date(2027, 2, 28)).status == "eligible"
    assert _decide(date_of_birth=leap, on=date(2028, 2, 28)).reason == "age"
    assert _decide(date_of_birth=leap, on=date(2028, 2, 29)).status == "eligible"


def test_a_29_february_baby_turns_75_on_1_march_in_a_common_year() -> None:
    dob = date(1952, 2, 29)
    assert _decide(date_of_birth=dob, on=date(2027, 2, 28)).status == "eligible"
    assert _decide(date_of_birth=dob, on=date(2027, 3, 1)).reason == "age"


@given(
    st.dates(date(1900, 1, 1), date(2030, 12, 31)),
    st.dates(date(1990, 1, 1), date(2040, 12, 31)),
    st.integers(min_value=1, max_value=90),
)
def test_the_sql_date_of_birth_bound_agrees_with_age_in_completed_years(
    dob: date, on: date, age: int
) -> None:
    bound = rules.born_on_or_before_for_age(on, age)
    assert (rules.age_on(dob, on) >= age) == (dob <= bound)


def test_a_check_exactly_five_years_ago_is_due_again_and_a_day_later_is_recent() -> None:
    assert _decide(last_health_check=date(2021, 1, 14)).status == "eligible"
    assert _decide(last_health_check=date(2021, 1, 15)) == Decision("excluded", "recent_check")
    assert _decide(last_health_check=date(2016, 1, 1)).status == "eligible"


def test_the_five_year_rule_on_29_february() -> None:
    assert rules.recall_cutoff(date(2028, 2, 29)) == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("CHD", "chd"), ("coronary heart disease", "chd"), ("Chronic Kidney Disease", "ckd"),
     ("diabetes", "diabetes"), ("Hypertension", "hypertension"), ("AF", "af"),
     ("atrial fibrillation", "af"), ("TIA", "tia"), ("transient ischaemic attack", "tia"),
     ("stroke", "stroke"), ("FH", "fh"), ("familial hypercholesterolaemia", "fh"),
     ("heart failure", "heart_failure"), ("PAD", "pad"),
     ("peripheral arterial disease", "pad"), ("statins", "statins"), ("Statin", "statins"),
     ("cvd risk 20", "cvd_risk_20"), ("QRISK>=20", "cvd_risk_20")],
)  # fmt: skip
def test_every_condition_alias_maps_to_its_canonical_name(written: str, canonical: str) -> None:
    assert rules.parse_conditions(written) == rules.ParsedConditions(canonical, ())


def test_conditions_are_semicolon_separated_deduplicated_and_unknowns_reported() -> None:
    parsed = rules.parse_conditions(" Diabetes ; hypertension;;diabetes; Heart trouble ")
    assert parsed.canonical == "diabetes;hypertension"
    assert parsed.unknown == ("Heart trouble",)


def test_any_condition_excludes_even_the_20_percent_risk_one() -> None:
    assert _decide(conditions="cvd_risk_20") == Decision("excluded", "condition")


def test_reasons_apply_in_order_age_condition_recent_check_opted_out() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    everything = dict(conditions="chd", last_health_check=date(2025, 1, 1), opted_out_at=now)
    assert _decide(date_of_birth=date(1990, 1, 1), **everything).reason == "age"
    assert _decide(**everything).reason == "condition"
    assert _decide(last_health_check=date(2025, 1, 1), opted_out_at=now).reason == "recent_check"
    assert _decide(opted_out_at=now).reason == "opted_out"
    assert _decide(number_opted_out=True).reason == "opted_out"


def test_eligible_without_a_usable_mobile_is_not_textable() -> None:
    assert _decide(mobile=None) == Decision("not_textable", None)
    assert _decide(number_not_textable=True) == Decision("not_textable", None)


@pytest.mark.parametrize(
    ("age", "band"),
    [(39, None), (40, "40-44"), (44, "40-44"), (45, "45-49"), (69, "65-69"), (70, "70-74"),
     (74, "70-74"), (75, None)],
)  # fmt: skip
def test_age_bands_are_five_years_from_40_to_74(age: int, band: str | None) -> None:
    assert rules.age_band(age) == band


@pytest.mark.parametrize(
    ("decile", "quintile"),
    [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (8, 4), (9, 5), (10, 5),
     (None, None), (0, None), (11, None)],
)  # fmt: skip
def test_imd_quintile_1_is_deciles_1_and_2(decile: int | None, quintile: int | None) -> None:
    assert rules.imd_quintile(decile) == quintile


@pytest.mark.parametrize(
    ("written", "code"),
    [("M", "1"), ("male", "1"), ("1", "1"), ("F", "2"), ("Female", "2"), ("2", "2"),
     ("9", "9"), ("0", "0"), ("U", "0"), ("", "0"), ("X", None)],
)  # fmt: skip
def test_sex_codes(written: str, code: str | None) -> None:
    assert rules.sex_code(written) == code
