"""An audit of published tables the way statistical offices run one (tau-Argus's audit).

For every hidden cell, integer linear programming (`scipy.optimize.linprog` with
`integrality`, i.e. HiGHS branch and bound) finds the smallest and largest value it can
take given everything an outsider knows: every published cell, the sums that hold between
cells (each margin is the sum of its line; eligible = textable + not textable), and the
rounding rule (a published non-zero count n stands for the counts >= SUPPRESS_BELOW that
round to n; a published 0 is exactly 0; a hidden cell is any count >= 0, since a zero may be
hidden to protect another cell).

"Not pinned" means, for every hidden cell:
- its interval holds at least two whole numbers (it cannot be worked out exactly); and
- a primary cell (true count 1..SUPPRESS_BELOW-1) can reach SUPPRESS_BELOW: its interval
  holds values on both sides of the threshold, so the published figures do not even show
  that the count is small, let alone which small count it is. Width alone would not do:
  [1, 7] is wide, yet it says "a small number" as plainly as the count itself.
The nesting of the funnel (attended <= booked <= invited) is not used: an audit checks the
linear relations a table publishes, as tau-Argus does, and these are not equations.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linprog

from app.domain.suppression import ALL, Rule

Relation = tuple[Sequence[Hashable], Hashable]  # cells that add up to the total


def published_bounds(value: int | None, rule: Rule) -> tuple[float, float | None]:
    """What a published value tells about the count behind it."""
    if value is None:
        return 0, None
    if value == 0:
        return 0, 0
    low = value - rule.round_to // 2
    high = value + (rule.round_to + 1) // 2 - 1
    return max(low, rule.suppress_below), high


def intervals(
    published: Mapping[Hashable, int | None], relations: Iterable[Relation], rule: Rule
) -> dict[Hashable, tuple[float, float]]:
    """The smallest and largest value of each hidden cell (math.inf when unbounded)."""
    keys = list(published)
    index = {k: i for i, k in enumerate(keys)}
    rows = []
    for cells, total in relations:
        row = np.zeros(len(keys))
        for c in cells:
            row[index[c]] += 1
        row[index[total]] -= 1
        rows.append(row)
    a_eq = np.array(rows) if rows else None
    b_eq = np.zeros(len(rows)) if rows else None
    bounds = [published_bounds(published[k], rule) for k in keys]
    integrality = np.ones(len(keys))
    out: dict[Hashable, tuple[float, float]] = {}
    for k in keys:
        if published[k] is not None:
            continue
        c = np.zeros(len(keys))
        c[index[k]] = 1
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, integrality=integrality)
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, integrality=integrality)
        assert low.status == 0, f"published figures are inconsistent: {low.message}"
        if high.status == 0:
            out[k] = (round(low.fun), round(-high.fun))
            continue
        # HiGHS says "unbounded or infeasible" for an integer program; it is feasible (the
        # minimum exists), so the relaxation settles that it is unbounded
        relaxed = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds)
        assert relaxed.status == 3, relaxed.message
        out[k] = (round(low.fun), math.inf)
    return out


def pinned(
    published: Mapping[Hashable, int | None],
    true: Mapping[Hashable, int],
    relations: Iterable[Relation],
    rule: Rule,
) -> dict[Hashable, tuple[int, tuple[float, float]]]:
    """Hidden cells an outsider can narrow too far: {cell: (true count, interval)}."""
    bad: dict[Hashable, tuple[int, tuple[float, float]]] = {}
    for k, (low, high) in intervals(published, relations, rule).items():
        n = true[k]
        assert low <= n <= high, (k, n, low, high)
        if high - low < 1 or (0 < n < rule.suppress_below and high < rule.suppress_below):
            bad[k] = (n, (low, high))
    return bad


def table_relations(
    keys: Iterable[tuple[Any, ...]], parents: Mapping[int, Mapping[Any, Any]] | None = None
) -> list[Relation]:
    """Every sum in a table with all margins: along each axis, the cells of a line add up
    to the cell with that axis's margin in their place: ALL, or in a hierarchy (`parents`:
    an ethnic category to its group) the value's parent."""
    keys = list(keys)
    parents = parents or {}
    lines: dict[tuple[int, tuple[Any, ...]], list[tuple[Any, ...]]] = {}
    for key in keys:
        for i, v in enumerate(key):
            if v != ALL:
                margin = parents.get(i, {}).get(v, ALL)
                parent = key[:i] + (margin,) + key[i + 1 :]
                lines.setdefault((i, parent), []).append(key)
    present = set(keys)
    return [(cells, parent) for (_i, parent), cells in lines.items() if parent in present]


def report_relations(rows: Iterable[tuple[Any, ...]], stages: Sequence[str]) -> list[Relation]:
    """The sums a published uptake table holds, over cells (group key, stage): each stage
    along each dimension, and textable + not textable = eligible in every row."""
    relations: list[Relation] = []
    rows = list(rows)
    for stage in stages:
        for cells, total in table_relations(rows):
            relations.append(([(c, stage) for c in cells], (total, stage)))
    for key in rows:
        relations.append((((key, "textable"), (key, "not_textable")), (key, "eligible")))
    return relations
