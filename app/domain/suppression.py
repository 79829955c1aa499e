"""Disclosure control for published counts: NHS Digital's rule plus secondary suppression.

NHS Digital's rule for sub-national figures: 0 stays 0 (an empty cell discloses no one);
1 to 7 is shown as `*`; every other count is rounded to the nearest 5; a rate is worked
out from the rounded counts, and a rate whose numerator or denominator is suppressed is
suppressed too. The thresholds are settings (SUPPRESS_BELOW, ROUND_TO).

Secondary suppression: where counts add up to a published total (the groups of a
breakdown to the overall figure, the cells of a row of a two-way table to the row's
group), a single hidden cell could be worked out by subtraction, so a second cell of
that line is hidden too: the smallest non-zero one still shown. This repeats until no
line has exactly one hidden cell (hiding a cell in one line can expose another).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

SUPPRESSED = "*"

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Rule:
    """The disclosure thresholds: counts 1..suppress_below-1 hidden, others rounded."""

    suppress_below: int = 8
    round_to: int = 5

    def __post_init__(self) -> None:
        if self.suppress_below < 1 or self.round_to < 1:
            raise ValueError("suppress_below and round_to must be at least 1")


def round_count(n: int, to: int) -> int:
    """n rounded to the nearest multiple of `to`, halves away from zero (integer-exact)."""
    return (2 * n + to) // (2 * to) * to


def is_primary(n: int, rule: Rule) -> bool:
    """True when the count itself must be hidden (1..suppress_below-1)."""
    return 0 < n < rule.suppress_below


def disclose(n: int, rule: Rule) -> int | None:
    """The published form of one count: 0, None (shown as `*`), or rounded."""
    if n < 0:
        raise ValueError(f"a count cannot be negative: {n}")
    if n == 0:
        return 0
    if is_primary(n, rule):
        return None
    return round_count(n, rule.round_to)


@dataclass(frozen=True)
class Line(Generic[K]):
    """Cells whose sum is published as `total` (itself a cell, or None when the total is
    public some other way and never hidden)."""

    cells: tuple[K, ...]
    total: K | None = None


def secondary(counts: Mapping[K, int], hidden: Iterable[K], lines: Iterable[Line[K]]) -> set[K]:
    """The cells to hide so that no line lets a single hidden cell be backed out.

    `hidden` are the cells already hidden (primary suppression). In any line with exactly
    one hidden non-zero cell, hide the smallest non-zero cell still shown; if there is
    none, hide the line's total. Zero cells are never hidden: 0 stays 0 by the rule, and a
    zero tells the subtraction nothing it did not already know.
    """
    result = set(hidden)
    all_lines = list(lines)
    changed = True
    while changed:
        changed = False
        for line in all_lines:
            hidden_here = [c for c in line.cells if c in result and counts[c] != 0]
            if len(hidden_here) != 1:
                continue
            if line.total is not None and line.total in result:
                continue
            candidates = [c for c in line.cells if c not in result and counts[c] != 0]
            if candidates:
                result.add(min(candidates, key=lambda c: counts[c]))
            elif line.total is not None:
                result.add(line.total)
            else:
                continue
            changed = True
    return result


def disclose_table(
    counts: Mapping[K, int], lines: Iterable[Line[K]], rule: Rule
) -> dict[K, int | None]:
    """Every cell in its published form: None for hidden (`*`), else 0 or rounded.

    Primary suppression by the NHS Digital rule, then secondary suppression over `lines`.
    """
    primary = {k for k, n in counts.items() if is_primary(n, rule)}
    hidden = secondary(counts, primary, lines)
    return {k: (None if k in hidden else disclose(n, rule)) for k, n in counts.items()}


def shown(value: int | None) -> int | str:
    """A published count as it is displayed and exported: the number, or `*`."""
    return SUPPRESSED if value is None else value
