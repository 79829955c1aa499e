"""Intervals, differences and p-values checked against statsmodels."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from app.domain.stats import difference, equity, proportion, two_proportion_z_test, wilson_interval

CASES = [(0, 1), (0, 20), (1, 20), (7, 8), (20, 20), (37, 112), (500, 1000), (3, 200_000)]


@pytest.mark.parametrize(("x", "n"), CASES)
def test_wilson_interval_matches_statsmodels(x: int, n: int) -> None:
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    ours = wilson_interval(x, n)
    assert ours is not None
    assert ours[0] == pytest.approx(low, abs=1e-12)
    assert ours[1] == pytest.approx(high, abs=1e-12)


@given(n=st.integers(1, 100_000), data=st.data())
@settings(max_examples=200, deadline=None)
def test_wilson_interval_matches_statsmodels_for_any_count(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(0, n))
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    ours = wilson_interval(x, n)
    assert ours is not None
    assert ours[0] == pytest.approx(max(0.0, low), abs=1e-9)
    assert ours[1] == pytest.approx(min(1.0, high), abs=1e-9)
    assert ours[0] <= x / n <= ours[1]


def test_a_rate_with_no_denominator_has_no_value_and_no_interval() -> None:
    assert wilson_interval(0, 0) is None
    p = proportion(0, 0)
    assert (p.value, p.low, p.high) == (None, None, None)


def test_a_numerator_above_its_denominator_is_refused() -> None:
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


PAIRS = [(10, 50, 5, 60), (120, 400, 90, 410), (0, 30, 4, 30), (30, 30, 25, 31), (7, 9, 1, 12)]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PAIRS)
def test_difference_interval_is_newcombes_as_statsmodels_computes_it(
    x1: int, n1: int, x2: int, n2: int
) -> None:
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    d = difference(x1, n1, x2, n2)
    assert d.difference == pytest.approx(x1 / n1 - x2 / n2)
    assert d.low == pytest.approx(low, abs=1e-12)
    assert d.high == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), PAIRS)
def test_p_value_is_the_pooled_two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> None:
    z, p = proportions_ztest([x1, x2], [n1, n2])
    d = difference(x1, n1, x2, n2)
    assert d.z == pytest.approx(z, abs=1e-10)
    assert d.p_value == pytest.approx(p, abs=1e-12)


def test_arms_that_cannot_differ_have_no_p_value_where_statsmodels_gives_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z, p = proportions_ztest([0, 0], [50, 60])
    assert math.isnan(z) and math.isnan(p)
    assert two_proportion_z_test(0, 50, 0, 60) is None
    d = difference(0, 50, 0, 60)
    assert d.difference == 0 and d.p_value is None
    assert d.low is not None and d.low < 0 < d.high  # type: ignore[operator]


def test_difference_with_an_empty_arm_is_unknown() -> None:
    d = difference(3, 10, 0, 0)
    assert d.difference is None and d.low is None and d.p_value is None


def test_equity_gap_is_highest_minus_lowest_and_ratios_are_to_overall() -> None:
    e = equity({"Male": 0.2, "Female": 0.3, "Not known": None}, overall=0.25)
    assert (e.highest, e.lowest) == ("Female", "Male")
    assert e.gap == pytest.approx(0.1)
    assert e.ratios == {"Male": pytest.approx(0.8), "Female": pytest.approx(1.2), "Not known": None}


def test_equity_without_any_known_rate_has_no_gap() -> None:
    e = equity({"A": None}, overall=None)
    assert e.gap is None and e.highest is None and e.ratios == {"A": None}
