"""Disclosure control for published counts: NHS Digital's rule plus secondary suppression.

NHS Digital's rule for sub-national figures: 0 stays 0 (an empty cell discloses no one);
1 to 7 is shown as `*`; every other count is rounded to the nearest 5; a rate is worked
out from the rounded counts, and a rate whose numerator or denominator is suppressed is
suppressed too. The thresholds are settings (SUPPRESS_BELOW, ROUND_TO).

Secondary suppression: where counts add up to a published total (the groups of a
breakdown to the overall figure, each row and each column of a two-way table to its
margin, the margins to the grand total, textable + not textable to eligible), a lone
hidden cell could be worked out by subtraction, and two small hidden cells in a line
give away their small sum. So each hidden cell gets a hypercube of hidden partners
large enough that the published figures allow it to be at or above the threshold
(`disclose_cube`); every line of a published table then holds no hidden cell or at
least two. tests/disclosure_audit.py proves it by integer programming.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

SUPPRESSED = "*"
ALL = "__all__"  # a margin's coordinate: the sum over every value of that axis


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


Key = tuple[Hashable, ...]


def disclose_cube(counts: Mapping[Key, int], rule: Rule, *, dims: int) -> dict[Key, int | None]:
    """Every cell of a table with all its margins in its published form (None = `*`).

    `counts` is keyed by coordinates, one per axis; ALL in a position is the margin (the
    sum over that axis), every margin of a present cell is present, and every
    combination of present values is present (zero where empty): an absent cell is a
    published zero that no suppression can hide. The first `dims`
    axes are the breakdown's dimensions, the rest (e.g. textable / not textable /
    eligible) lie within every breakdown.

    Linked tables publish the same cell alike: the table is protected margin first, one
    set of dimensions at a time (the overall figures, then each one-way table, then the
    two-way table), and a cell decided for a smaller table is never changed by a larger
    one. The one-way table by sex is thus the same whether it is asked for alone or as
    the margin of a two-way table.

    Within each, a primary cell x (1..suppress_below-1) is hidden with the other corners
    of a hypercube (Repsilber's method, as tau-Argus offers it): one partner value on
    each axis, possibly that axis's margin, chosen so that x could be suppress_below or
    more while every published cell stays as published. Adding d to x and alternately
    subtracting and adding it around the cube keeps every sum; a corner that goes down
    holds at least d = suppress_below - x. So no published figure rules out that x is
    not small at all, and each hidden corner can move by d >= 1: none is pinned. The
    cheapest cube wins: fewest newly hidden zeros, then fewest new cells, then the
    smallest total. A zero may be hidden (as a corner that only goes up); a `*` then
    does not say the count is at least 1. Where no cube exists, every cell of that
    table is hidden but those a smaller table publishes already (alone in a line whose
    margin is shown).
    """
    width = len(next(iter(counts))) if counts else 0
    hidden: set[Key] = set()
    decided: set[Key] = set()
    for level in _levels(dims):
        cells = sorted(
            (k for k in counts if all((k[i] != ALL) == (i in level) for i in range(dims))),
            key=repr,
        )
        axes = [*sorted(level), *range(dims, width)]
        _protect(counts, cells, axes, rule, hidden, decided)
        decided.update(cells)
    return {k: (None if k in hidden else disclose(n, rule)) for k, n in counts.items()}


def _levels(dims: int) -> list[frozenset[int]]:
    """Every set of dimensions, smallest first: the tables, margins before the cells."""
    sets = [frozenset(i for i in range(dims) if mask >> i & 1) for mask in range(2**dims)]
    return sorted(sets, key=lambda s: (len(s), sorted(s)))


def _edge_cost(x: Key, i: int, b: Hashable, counts: Mapping[Key, int], hidden: set[Key]) -> Any:
    edge = x[:i] + (b,) + x[i + 1 :]
    return (edge not in hidden, counts[edge] == 0, counts[edge], repr(b))


PARTNERS_PER_AXIS = 8  # the cube search looks at this many partner values on each axis


def _protect(
    counts: Mapping[Key, int],
    cells: list[Key],
    axes: list[int],
    rule: Rule,
    hidden: set[Key],
    decided: set[Key],
) -> None:
    """Hide the primary cells of one table and a hypercube around each (see disclose_cube)."""
    values = {i: sorted({k[i] for k in cells}, key=repr) for i in axes}
    primaries = sorted(
        (k for k in cells if is_primary(counts[k], rule)), key=lambda k: (counts[k], repr(k))
    )
    hidden.update(primaries)
    for x in primaries:
        cube = _cube(x, counts, axes, values, rule.suppress_below - counts[x], hidden, decided)
        if cube is None:
            hidden.update(
                c for c in cells if not _published_by_margin(c, counts, values, hidden, decided)
            )
            return
        hidden.update(cube)


def _published_by_margin(
    key: Key,
    counts: Mapping[Key, int],
    values: Mapping[int, list[Hashable]],
    hidden: set[Key],
    decided: set[Key],
) -> bool:
    """True when a smaller table shows `key` already: it is alone in a line whose margin is
    shown, or in a line whose margin is shown as 0."""
    for i, line in values.items():
        margin = key[:i] + (ALL,) + key[i + 1 :]
        if margin in decided and margin not in hidden and (len(line) == 1 or counts[margin] == 0):
            return True
    return False


def _cube(
    x: Key,
    counts: Mapping[Key, int],
    axes: list[int],
    values: Mapping[int, list[Hashable]],
    need: int,
    hidden: set[Key],
    decided: set[Key],
) -> list[Key] | None:
    """The cheapest valid hypercube of hidden cells around x, or None."""

    def usable(key: Key, sign: int) -> bool:
        if key not in counts or (key in decided and key not in hidden):
            return False
        return sign > 0 or counts[key] >= need

    options: list[list[tuple[Hashable, int]]] = []  # per axis: (partner, its sign)
    for i in axes:
        found: list[tuple[Hashable, int]] = []
        for b in dict.fromkeys([*values[i], ALL]):
            if b == x[i]:
                continue
            sign = 1 if ALL in (b, x[i]) else -1
            edge = x[:i] + (b,) + x[i + 1 :]
            if usable(edge, sign):
                found.append((b, sign))
        found.sort(key=lambda option: _edge_cost(x, i, option[0], counts, hidden))  # noqa: B023
        if not found:
            return None
        options.append(found[:PARTNERS_PER_AXIS])
    best: tuple[tuple[int, int, int], list[Key]] | None = None
    for choice in itertools.product(*options):
        corners: list[Key] = []
        valid = True
        for picks in itertools.product((False, True), repeat=len(axes)):
            key = list(x)
            sign = 1
            for i, (b, s), pick in zip(axes, choice, picks, strict=True):
                if pick:
                    key[i] = b
                    sign *= s
            corner = tuple(key)
            if not usable(corner, sign):
                valid = False
                break
            corners.append(corner)
        if not valid:
            continue
        new = [c for c in corners if c not in hidden]
        cost = (sum(counts[c] == 0 for c in new), len(new), sum(counts[c] for c in new))
        if best is None or cost < best[0]:
            best = (cost, corners)
            if cost == (0, 0, 0):
                break
    return None if best is None else best[1]


def shown(value: int | None) -> int | str:
    """A published count as it is displayed and exported: the number, or `*`."""
    return SUPPRESSED if value is None else value
