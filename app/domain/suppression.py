"""Disclosure control for published counts: NHS Digital's rule plus secondary suppression.

NHS Digital's rule for sub-national figures: 0 stays 0 (an empty cell discloses no one);
1 to 7 is shown as `*`; every other count is rounded to the nearest 5; a rate is worked
out from the rounded counts, and a rate whose numerator or denominator is suppressed is
suppressed too. The thresholds are settings (SUPPRESS_BELOW, ROUND_TO).

Secondary suppression: where counts add up to a published total (the groups of a
breakdown to the overall figure, each row and each column of a two-way table to its
margin, the margins to the grand total, textable + not textable to eligible, ethnic
categories to their group), a lone hidden cell could be worked out by subtraction, and
two small hidden cells in a line give away their small sum. So each hidden cell gets a
hypercube of hidden partners large enough that the published figures allow it to be at
or above the threshold (`disclose_cube`); every line of a published table then holds no
hidden cell or at least two. tests/disclosure_audit.py checks it by integer programming.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping
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


def disclose_cube(
    counts: Mapping[Key, int],
    rule: Rule,
    *,
    dims: int,
    parents: Mapping[int, Mapping[Hashable, Hashable]] | None = None,
) -> dict[Key, int | None]:
    """Every cell of a table with all its margins in its published form (None = `*`).

    `counts` is keyed by coordinates, one per axis; ALL in a position is the margin (the
    sum over that axis), every margin of a present cell is present, and every
    combination of present values is present (zero where empty): an absent cell is a
    published zero that no suppression can hide. The first `dims` axes are the
    breakdown's dimensions, the rest (e.g. textable / not textable / eligible) lie
    within every breakdown. A dimension may be a hierarchy: `parents[i]` maps a value to
    the value it is part of (an ethnic category to its group), whose cell is then that
    value's margin, and the parent's own margin is ALL.

    Linked tables publish the same cell alike: the table is protected margin first, one
    level at a time (the overall figures, then each one-way table, the groups before
    their categories, then the two-way tables), and a cell decided for a smaller table
    is never changed by a larger one. The one-way table by sex is thus the same whether
    it is asked for alone or as the margin of a two-way table, and the categories are
    protected against their group's published figure.

    Within each, a primary cell x (1..suppress_below-1) is hidden with the other corners
    of a hypercube (Repsilber's method, as tau-Argus offers it): one partner value on
    each axis, a sibling or the margin, chosen so that x could be suppress_below or more
    while every published cell stays as published. Adding d to x and alternately
    subtracting and adding it around the cube keeps every sum; a corner that goes down
    holds at least d = suppress_below - x. So no published figure rules out that x is
    not small at all, and each hidden corner can move by d >= 1: none is pinned. The
    cheapest cube wins: fewest newly hidden zeros, then fewest new cells, then the
    smallest total. A zero may be hidden (as a corner that only goes up); a `*` then
    does not say the count is at least 1. Where no cube exists, every cell of that
    table is hidden but those the smaller tables give away anyway, and so are the cells
    of larger tables that add up to them.
    """
    shape = _Shape(len(next(iter(counts))) if counts else 0, dims, parents or {})
    hidden: set[Key] = set()
    decided: set[Key] = set()
    cubes: list[_Cube] = []
    last_resort: set[Key] = set()  # hidden without a cube: so are the cells they add up
    by_level: dict[tuple[int, ...], list[Key]] = {}
    for key in counts:
        by_level.setdefault(shape.level_of(key), []).append(key)
    for level in sorted(by_level, key=lambda level: (sum(level), level)):
        cells = sorted(by_level[level], key=repr)
        axes = [*(i for i in range(dims) if level[i] > 0), *range(dims, shape.width)]
        table = _Table(counts, cells, axes, shape, hidden, decided)
        lifted = [table.lift(cube, level) for cube in cubes]  # every one, even past a failure
        if not all(lifted) or not table.protect(rule, cubes):
            last_resort.update(set(cells) - table.known())
        below = {k for k in cells if any(m in last_resort for m in shape.margins(k))}
        last_resort.update(below - table.known())
        hidden.update(last_resort)
        table.pair_up()
        decided.update(cells)
    return {k: (None if k in hidden else disclose(n, rule)) for k, n in counts.items()}


@dataclass
class _Cube:
    """Hidden cells that move together: each by sign * need, every published sum kept.

    A cube found in a smaller table reaches into each larger one through a child of its
    margins (`lifts`: a margin value on an axis -> the value standing in for it), so the
    cells the smaller table hid stay unrecoverable once the larger table is published.
    """

    corners: dict[Key, int]
    need: int
    level: tuple[int, ...]  # the table it was found in
    lifts: dict[tuple[int, Hashable], Hashable]


@dataclass(frozen=True)
class _Shape:
    """Which cell is whose margin: ALL, or along a hierarchy the value's parent."""

    width: int
    dims: int
    parents: Mapping[int, Mapping[Hashable, Hashable]]

    def margin(self, i: int, value: Hashable) -> Hashable:
        return self.parents.get(i, {}).get(value, ALL)

    def depth(self, i: int, value: Hashable) -> int:
        return 0 if value == ALL else 1 + self.depth(i, self.margin(i, value))

    def level_of(self, key: Key) -> tuple[int, ...]:
        return tuple(self.depth(i, key[i]) for i in range(self.dims))

    def margins(self, key: Key) -> list[Key]:
        """The cells one step up from `key` along each dimension."""
        return [
            key[:i] + (self.margin(i, key[i]),) + key[i + 1 :]
            for i in range(self.dims)
            if key[i] != ALL
        ]

    def sign(self, i: int, a: Hashable, b: Hashable) -> int:
        """+1 when one of a, b is the other's margin (they move together), else -1."""
        inner = i >= self.dims
        if inner:
            return 1 if ALL in (a, b) else -1
        return 1 if b == self.margin(i, a) or a == self.margin(i, b) else -1

    def partners(self, i: int, a: Hashable, values: list[Hashable]) -> list[Hashable]:
        """The values that can pair with `a` on axis i: its siblings and its margin."""
        if i >= self.dims:
            return [b for b in dict.fromkeys([*values, ALL]) if b != a]
        m = self.margin(i, a)
        return [b for b in values if b != a and self.margin(i, b) == m] + [m]


PARTNERS_PER_AXIS = 8  # the cube search looks at this many partner values on each axis


@dataclass
class _Table:
    """One table of the cube while it is being decided (see disclose_cube)."""

    counts: Mapping[Key, int]
    cells: list[Key]
    axes: list[int]
    shape: _Shape
    hidden: set[Key]
    decided: set[Key]

    def usable(self, key: Key, sign: int, need: int) -> bool:
        if key not in self.counts or (key in self.decided and key not in self.hidden):
            return False
        return sign > 0 or self.counts[key] >= need

    def cost(self, corners: Iterable[Key]) -> tuple[int, int, int]:
        new = [c for c in corners if c not in self.hidden]
        return (sum(self.counts[c] == 0 for c in new), len(new), sum(self.counts[c] for c in new))

    def protect(self, rule: Rule, cubes: list[_Cube]) -> bool:
        """Hide the primary cells and a cube around each; False when one has none."""
        primaries = sorted(
            (k for k in self.cells if is_primary(self.counts[k], rule)),
            key=lambda k: (self.counts[k], repr(k)),
        )
        self.hidden.update(primaries)
        for x in primaries:
            cube = self.cube(x, rule.suppress_below - self.counts[x])
            if cube is None:
                return False
            self.hidden.update(cube.corners)
            cubes.append(cube)
        return True

    def cube(self, x: Key, need: int) -> _Cube | None:
        """The cheapest valid hypercube around x: x up by `need`, every sum kept."""
        values = {i: sorted({k[i] for k in self.cells}, key=repr) for i in self.axes}
        options: list[list[tuple[Hashable, int]]] = []  # per axis: (partner, its sign)
        for i in self.axes:
            found = []
            for b in self.shape.partners(i, x[i], values[i]):
                sign = self.shape.sign(i, x[i], b)
                if self.usable(x[:i] + (b,) + x[i + 1 :], sign, need):
                    found.append((b, sign))
            if not found:
                return None
            found.sort(key=lambda o: self._edge_cost(x, i, o[0]))  # noqa: B023
            options.append(found[:PARTNERS_PER_AXIS])
        best: tuple[tuple[int, int, int], dict[Key, int]] | None = None
        for choice in itertools.product(*options):
            corners: dict[Key, int] = {}
            for picks in itertools.product((False, True), repeat=len(self.axes)):
                key, sign = list(x), 1
                for i, (b, s), pick in zip(self.axes, choice, picks, strict=True):
                    if pick:
                        key[i] = b
                        sign *= s
                corners[tuple(key)] = sign
            if not all(self.usable(c, s, need) for c, s in corners.items()):
                continue
            cost = self.cost(corners)
            if best is None or cost < best[0]:
                best = (cost, corners)
                if cost == (0, 0, 0):
                    break
        return None if best is None else _Cube(best[1], need, self.shape.level_of(x), {})

    def _edge_cost(self, x: Key, i: int, b: Hashable) -> Any:
        edge = x[:i] + (b,) + x[i + 1 :]
        return (edge not in self.hidden, self.counts[edge] == 0, self.counts[edge], repr(b))

    def lift(self, cube: _Cube, level: tuple[int, ...]) -> bool:
        """Carry a smaller table's cube into this one; False when it cannot be.

        Each corner at the cube's own depth on an axis moves to its stand-in at this
        table's depth; a corner on that axis's margin stays. Lifted corners in this table
        are hidden; those in tables decided before must be hidden already.
        """
        own = cube.level
        if own == level or any(o > t for o, t in zip(own, level, strict=True)):
            return True  # this table does not reach that one through its margins
        try:
            for j in range(self.shape.dims):
                for depth in range(own[j], level[j]):
                    at = {self._at(c, cube, j, depth) for c in self._movers(cube, j)}
                    for value in sorted(at, key=repr):
                        if (j, value) not in cube.lifts and not self._choose(cube, j, value, level):
                            return False
            lifted = {self._lifted(c, cube, level): s for c, s in cube.corners.items()}
        except KeyError:  # an axis found no stand-in in a smaller table
            return False
        if not all(self.usable(c, s, cube.need) for c, s in lifted.items()):
            return False
        self.hidden.update(c for c in lifted if self.shape.level_of(c) == level)
        return True

    def _movers(self, cube: _Cube, j: int) -> list[Key]:
        """The corners that move along axis j when the cube is lifted: those not on the
        axis's margin partner."""
        return [c for c in cube.corners if self.shape.depth(j, c[j]) == cube.level[j]]

    def _at(self, corner: Key, cube: _Cube, j: int, depth: int) -> Hashable:
        value = corner[j]
        if self.shape.depth(j, value) != cube.level[j]:
            return value
        while self.shape.depth(j, value) < depth:
            value = cube.lifts[(j, value)]
        return value

    def _lifted(self, corner: Key, cube: _Cube, level: tuple[int, ...]) -> Key:
        return tuple(
            self._at(corner, cube, j, level[j]) if j < self.shape.dims else v
            for j, v in enumerate(corner)
        )

    def _choose(self, cube: _Cube, j: int, value: Hashable, level: tuple[int, ...]) -> bool:
        """Pick the child that stands in for `value` on axis j: the cheapest valid one."""
        depth = self.shape.depth(j, value)
        children = sorted(
            {k[j] for k in self.cells if self.shape.margin(j, k[j]) == value}, key=repr
        )
        movers = [c for c in self._movers(cube, j) if self._at(c, cube, j, depth) == value]
        best: tuple[tuple[int, int, int], Hashable] | None = None
        for child in children:
            cube.lifts[(j, value)] = child
            try:
                lifted = {self._lifted(c, cube, level): cube.corners[c] for c in movers}
            except KeyError:  # another axis found no stand-in in a smaller table
                return False
            finally:
                del cube.lifts[(j, value)]
            if not all(self.usable(c, s, cube.need) for c, s in lifted.items()):
                continue
            cost = self.cost(lifted)
            if best is None or cost < best[0]:
                best = (cost, child)
        if best is None:
            return False
        cube.lifts[(j, value)] = best[1]
        return True

    def lines(self) -> list[list[Key]]:
        """Every sum through this table: the members (cells of this table), then the total."""
        shape, out = self.shape, []
        for i in self.axes:
            groups: dict[tuple[Key, Hashable], list[Key]] = {}
            for k in self.cells:
                if i >= shape.dims and k[i] == ALL:
                    continue
                groups.setdefault((k[:i] + k[i + 1 :], shape.margin(i, k[i])), []).append(k)
            for members in groups.values():
                k = members[0]
                total = k[:i] + (shape.margin(i, k[i]),) + k[i + 1 :]
                if total in self.counts:
                    out.append([*members, total])
        return out

    def known(self) -> set[Key]:
        """The cells that smaller tables' published figures give away whatever this one
        hides: in a line whose margin is shown as 0, or the last unknown cell of a line."""
        lines = self.lines()
        known = {k for k in self.decided if k not in self.hidden}
        changed = True
        while changed:
            changed = False
            for line in lines:
                unknown = [c for c in line if c not in known]
                zero = line[-1] in known and self.counts[line[-1]] == 0
                if unknown and (zero or len(unknown) == 1):
                    known.update(unknown)
                    changed = True
        return known & set(self.cells)

    def pair_up(self) -> None:
        """No line keeps a lone hidden cell (a margin hidden by a smaller table's last
        resort, say): hide its largest other member too, until none does."""
        lines = self.lines()
        changed = True
        while changed:
            changed = False
            for line in lines:
                if sum(c in self.hidden for c in line) != 1:
                    continue
                shown_members = [c for c in line[:-1] if c not in self.hidden]
                if shown_members:
                    self.hidden.add(max(shown_members, key=lambda c: (self.counts[c], repr(c))))
                    changed = True


def shown(value: int | None) -> int | str:
    """A published count as it is displayed and exported: the number, or `*`."""
    return SUPPRESSED if value is None else value
