"""Published tables: margins, disclosure control, rates, and the equity and trial views.

A table of counts by up to two dimensions becomes group rows as a caller may see them:
margins summed from the cells, every count disclosed by `suppression`, every rate with
its 95% Wilson interval from the published counts (hidden when a count it needs is).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from app.domain import ethnicity, stats
from app.domain.funnel import (
    DIMENSIONS,
    NOT_KNOWN,
    RATES,
    STAGES,
    TRIAL_RATES,
    BalanceRow,
    Comparison,
    EquityRow,
    EquityView,
    GroupRow,
    Rate,
    sort_key,
)
from app.domain.suppression import ALL, Rule, disclose_cube

Cells = dict[tuple[Any, ...], dict[str, int]]  # stage counts per combination of values


def publish(
    cells: Cells,
    dims: tuple[str, ...],
    *,
    raw: bool,
    rule: Rule,
    labeller: Mapping[str, Mapping[Any, str]],
) -> tuple[GroupRow, list[GroupRow]]:
    """Margins, disclosure and rates: the group rows as the caller may see them."""
    table = with_margins(cells, dims)
    published: dict[tuple[Any, str], int | None]
    if raw:
        published = {(k, s): n for k, counts in table.items() for s, n in counts.items()}
    else:
        published = _disclose(table, dims, rule)
    rows: list[GroupRow] = []
    total_key = (ALL,) * len(dims)
    total_row: GroupRow | None = None
    for key in table:
        counts = {s: published[(key, s)] for s in STAGES}
        labels = tuple(
            "All" if v == ALL else labeller[d].get(v, NOT_KNOWN)
            for d, v in zip(dims, key, strict=True)
        )
        row = GroupRow(key, labels, counts, rates(counts), is_margin=ALL in key)
        if key == total_key:
            total_row = row
        else:
            rows.append(row)
    if total_row is None:  # nothing to report: every stage 0
        zero = dict.fromkeys(STAGES, 0)
        total_row = GroupRow(total_key, ("All",) * len(dims), dict(zero), rates(zero), True)
    rows.sort(
        key=lambda r: (
            r.is_margin,
            [sort_key(d, v) for d, v in zip(dims, r.key, strict=True)],
        )
    )
    return total_row, rows


def with_margins(cells: Cells, dims: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, int]]:
    """The cells plus every margin (ALL in one or more positions), summed from the cells.

    A two-way table gets every combination of the values present, empty ones as zeros:
    an absent row would publish its zero beyond the reach of suppression (which hides a
    zero where that protects a small count beside it). Ethnic group by ethnic category
    does not: a category lies in one group, and everyone knows the rest are empty.
    """
    width = len(dims)
    table: dict[tuple[Any, ...], dict[str, int]] = {k: dict(v) for k, v in cells.items()}
    if width > 1 and set(dims) != {"ethnic_group", "ethnic_category"}:
        axes = [dict.fromkeys(k[i] for k in cells) for i in range(width)]
        for key in itertools.product(*axes):
            table.setdefault(key, dict.fromkeys(STAGES, 0))
    for key, counts in cells.items():
        for mask in range(1, 2**width):
            margin = tuple(ALL if mask >> i & 1 else v for i, v in enumerate(key))
            into = table.setdefault(margin, dict.fromkeys(STAGES, 0))
            for s, n in counts.items():
                into[s] += n
    if width == 0 and () not in table:
        table[()] = dict.fromkeys(STAGES, 0)
    return table


SPLIT = ("textable", "not_textable")  # add up to eligible: one table with that margin


def _disclose(
    table: Mapping[tuple[Any, ...], Mapping[str, int]], dims: tuple[str, ...], rule: Rule
) -> dict[tuple[Any, str], int | None]:
    """The published form of every (group, stage) count of a table with its margins.

    Each stage is a table of its own, but for textable, not textable and eligible, which
    form one (eligible its margin). Dimensions go to the suppression in a fixed order so
    that ethnic group x sex and sex x ethnic group publish the same cells. Ethnic
    categories are protected within their groups (as the table by ethnic group publishes
    them), so the two tables together give no category away.
    """
    order = sorted(range(len(dims)), key=lambda i: list(DIMENSIONS).index(dims[i]))

    def canonical(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(key[i] for i in order)

    cube = {canonical(k): dict(counts) for k, counts in table.items()}
    parents: dict[int, dict[Any, Any]] = {}
    ordered = [dims[i] for i in order]
    if "ethnic_category" in ordered and "ethnic_group" not in ordered:
        at = ordered.index("ethnic_category")
        parents[at] = {}
        for key, counts in list(cube.items()):
            if key[at] == ALL:
                continue
            group = ("group", ethnicity.group_of(key[at]))
            parents[at][key[at]] = group
            into = cube.setdefault(key[:at] + (group,) + key[at + 1 :], dict.fromkeys(STAGES, 0))
            for stage, n in counts.items():
                into[stage] += n
    split = {
        key + (part,): counts["eligible" if part == ALL else part]
        for key, counts in cube.items()
        for part in (*SPLIT, ALL)
    }
    shown_split = disclose_cube(split, rule, dims=len(dims), parents=parents)
    out: dict[tuple[Any, str], int | None] = {}
    for k in table:
        for part in (*SPLIT, ALL):
            out[(k, "eligible" if part == ALL else part)] = shown_split[canonical(k) + (part,)]
    for stage in STAGES:
        if stage in (*SPLIT, "eligible"):
            continue
        one = disclose_cube(
            {key: c[stage] for key, c in cube.items()}, rule, dims=len(dims), parents=parents
        )
        for k in table:
            out[(k, stage)] = one[canonical(k)]
    return out


def rates(counts: Mapping[str, int | None]) -> dict[str, Rate]:
    rates: dict[str, Rate] = {}
    for name, (num, den, _label) in RATES.items():
        x, n = counts[num], counts[den]
        if x is None or n is None:
            rates[name] = Rate(None, None, None, suppressed=True)
            continue
        p = stats.proportion(min(x, n), n)
        rates[name] = Rate(p.value, p.low, p.high)
    return rates


def equity_view(groups: list[GroupRow], total: GroupRow) -> EquityView:
    cells = [g for g in groups if not g.is_margin]
    names = {" / ".join(g.labels): g for g in cells}
    overall = total.rates["take_up"].value
    eq = stats.equity({n: g.rates["take_up"].value for n, g in names.items()}, overall)
    rows = [
        EquityRow(
            labels=g.labels,
            take_up=g.rates["take_up"],
            ratio_to_overall=eq.ratios[n],
            textable_coverage=g.rates["textable_coverage"],
            coverage=g.rates["coverage"],
        )
        for n, g in names.items()
    ]
    return EquityView(eq.highest, eq.lowest, eq.gap, rows)


def compare(
    groups: list[GroupRow], dims: tuple[str, ...], control: str, arms: list[str]
) -> list[Comparison]:
    """Each arm against control, per rate, overall (the variant margin rows) and within groups."""
    by_key = {g.key: g for g in groups}
    within_values: list[Any] = [ALL]
    if len(dims) == 2:
        within_values = sorted(
            {g.key[1] for g in groups if g.key[1] != ALL}, key=lambda v: sort_key(dims[1], v)
        ) + [ALL]
    out: list[Comparison] = []
    for w in within_values:

        def find(arm: str, w: Any = w) -> GroupRow | None:
            return by_key.get((arm,) if len(dims) == 1 else (arm, w))

        ctl = find(control)
        group_label: tuple[str, ...] = ()
        if len(dims) == 2:
            sample = next((g for g in groups if g.key[1] == w), None)
            group_label = (sample.labels[1] if sample else NOT_KNOWN,)
        for rate in TRIAL_RATES:
            num, den, _ = RATES[rate]
            for arm in arms:
                row = find(arm)
                x = row.counts[num] if row else 0
                n = row.counts[den] if row else 0
                value = row.rates[rate] if row else Rate(None, None, None)
                cx = ctl.counts[num] if ctl else 0
                cn = ctl.counts[den] if ctl else 0
                hidden = any(v is None for v in (x, n, cx, cn))
                if arm == control or hidden:
                    out.append(
                        Comparison(
                            group_label,
                            rate,
                            arm,
                            x,
                            n,
                            value,
                            None,
                            None,
                            None,
                            None,
                            suppressed=hidden,
                        )
                    )
                    continue
                assert x is not None and n is not None and cx is not None and cn is not None
                d = stats.difference(min(x, n), n, min(cx, cn), cn)
                out.append(
                    Comparison(
                        group_label,
                        rate,
                        arm,
                        x,
                        n,
                        value,
                        d.difference,
                        d.low,
                        d.high,
                        d.p_value,
                        suppressed=False,
                    )
                )
    return out


def balance_rows(groups: list[GroupRow], dimension: str, arms: list[str]) -> list[BalanceRow]:
    """Allocated members by baseline characteristic and arm, as counts and shares of arm."""
    arm_totals = {g.key[0]: g.counts["eligible"] for g in groups if g.key[1] == ALL}
    values = sorted(
        {g.key[1] for g in groups if g.key[1] != ALL}, key=lambda v: sort_key(dimension, v)
    )
    by_key = {g.key: g for g in groups}
    rows: list[BalanceRow] = []
    for v in values:
        counts: dict[str, int | None] = {}
        shares: dict[str, float | None] = {}
        label_text = NOT_KNOWN
        for arm in arms:
            g = by_key.get((arm, v))
            if g is not None:
                label_text = g.labels[1]
            n = g.counts["eligible"] if g else 0
            total = arm_totals.get(arm, 0)
            counts[arm] = n
            shares[arm] = n / total if n is not None and total else None
        rows.append(BalanceRow(dimension, label_text, counts, shares))
    return rows
