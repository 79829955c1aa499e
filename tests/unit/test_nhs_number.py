"""NHS number modulus 11 check and synthetic 999-range numbers."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from app.domain import nhs_number


def test_the_published_example_is_valid() -> None:
    assert nhs_number.is_valid("9434765919")


def test_the_often_quoted_format_example_fails_the_check() -> None:
    assert not nhs_number.is_valid("9876544321")


def test_wrong_length_or_non_digits_are_invalid() -> None:
    for value in ("943476591", "94347659190", "943476591X", "", "943 476 5919", "９434765919"):
        assert not nhs_number.is_valid(value)


def test_spaces_and_hyphens_are_cleaned_before_checking() -> None:
    assert nhs_number.is_valid(nhs_number.clean(" 943 476-5919 "))


def test_a_check_digit_of_ten_means_no_valid_number() -> None:
    # 999000001 + the weights give 11 - (sum mod 11) == 10
    nine = next(f"999{s:06d}" for s in range(1000) if nhs_number.check_digit(f"999{s:06d}") is None)
    assert all(not nhs_number.is_valid(nine + str(d)) for d in range(10))


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_makes_nine_digits_valid_unless_none_can(nine: str) -> None:
    valid = [d for d in range(10) if nhs_number.is_valid(f"{nine}{d}")]
    check = nhs_number.check_digit(nine)
    assert valid == ([] if check is None else [check])


@given(
    st.integers(min_value=0, max_value=999_999),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_digit_of_a_valid_number_makes_it_invalid(
    serial: int, position: int, delta: int
) -> None:
    number = nhs_number.synthetic_number(serial)
    if number is None:
        return
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    assert not nhs_number.is_valid("".join(digits))


def test_synthetic_numbers_are_valid_distinct_and_in_the_test_range() -> None:
    numbers = list(itertools.islice(nhs_number.synthetic_numbers(), 5000))
    assert len(set(numbers)) == 5000
    assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)


@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=10, max_size=10),
        st.text(alphabet="0123456789 -X９", min_size=0, max_size=12),
        st.text(max_size=12),
    )
)
def test_the_fast_check_equals_the_plain_rule_for_any_text(value: str) -> None:
    assert nhs_number.is_valid(value) == nhs_number.is_valid_plain(value)
