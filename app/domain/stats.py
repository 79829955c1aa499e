"""Statistics for uptake reports: proportions, their intervals, and comparisons between them.

Every rate Nudge publishes carries a 95% Wilson score interval (Wilson 1927), which stays
inside 0-1 and behaves at small counts where the Wald interval does not. A difference of
two proportions (a trial arm against control) uses Newcombe's hybrid score interval
(Newcombe 1998, method 10: built from the two Wilson intervals), and its two-sided p-value
is the pooled two-proportion z-test. `statsmodels` computes the same figures
(proportion_confint(method="wilson"), confint_proportions_2indep(method="newcomb"),
proportions_ztest) and the tests check against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# the 97.5th percentile of the standard normal, as scipy.stats.norm.isf(0.025) gives it
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """x out of n, with its 95% Wilson interval (all None when n is 0)."""

    numerator: int
    denominator: int
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Difference:
    """p1 - p2 with Newcombe's 95% interval and the two-sided z-test p-value."""

    difference: float | None
    low: float | None
    high: float | None
    z: float | None
    p_value: float | None


def wilson_interval(x: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for x successes in n trials; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n, got x={x}, n={n}")
    p = x / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # at x = 0 or x = n the bound is exactly 0 or 1; say so rather than trust rounding
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def proportion(x: int, n: int) -> Proportion:
    """x / n with its 95% Wilson interval."""
    interval = wilson_interval(x, n)
    if interval is None:
        return Proportion(x, n, None, None, None)
    return Proportion(x, n, x / n, interval[0], interval[1])


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Pooled two-proportion z statistic and two-sided p-value for p1 = p2.

    None when either group is empty or the pooled proportion is 0 or 1 (no variance:
    the arms cannot be told apart, and statsmodels returns nan there).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def difference(x1: int, n1: int, x2: int, n2: int) -> Difference:
    """p1 - p2 with Newcombe's hybrid score 95% interval and the z-test p-value.

    Newcombe rather than Wald because the Wald interval for a difference undercovers when
    a rate is near 0 or 1 or an arm is small, which is exactly where trial arms within a
    demographic group end up.
    """
    a, b = wilson_interval(x1, n1), wilson_interval(x2, n2)
    if a is None or b is None:
        return Difference(None, None, None, None, None)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - a[0]) ** 2 + (b[1] - p2) ** 2)
    high = d + math.sqrt((a[1] - p1) ** 2 + (p2 - b[0]) ** 2)
    test = two_proportion_z_test(x1, n1, x2, n2)
    z, p_value = test if test is not None else (None, None)
    return Difference(d, low, high, z, p_value)


@dataclass(frozen=True)
class Equity:
    """How far apart groups are: the highest and lowest rate, the gap between them, and
    each group's ratio to the overall rate (1.0 = the same as everyone)."""

    highest: str | None
    lowest: str | None
    gap: float | None
    ratios: dict[str, float | None]


def equity(rates: Mapping[str, float | None], overall: float | None) -> Equity:
    """The gap between the highest and lowest group rate and each group's ratio to overall.

    Groups whose rate is unknown (no denominator, or suppressed) are left out of the gap
    and get no ratio: a gap must never be computed from a hidden figure.
    """
    known = {k: v for k, v in rates.items() if v is not None}
    ratios: dict[str, float | None] = {
        k: (v / overall if v is not None and overall else None) for k, v in rates.items()
    }
    if not known:
        return Equity(None, None, None, ratios)
    highest = max(known, key=lambda k: known[k])
    lowest = min(known, key=lambda k: known[k])
    return Equity(highest, lowest, known[highest] - known[lowest], ratios)
