"""Reports as CSV: counts as published (`*` for hidden), rates as % with their intervals,
and on every row whether the figures are suppressed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from app.domain.funnel import DIMENSIONS, RATES, STAGES, TrialReport, UptakeReport
from app.domain.suppression import shown


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f}"


def _cell(text: str) -> str:
    """A label made safe for spreadsheets: a practice name starting with = + - @ would
    otherwise run as a formula when the CSV is opened (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def uptake_csv(report: UptakeReport) -> str:
    """The report as CSV: one row per group (then the total), counts as published (`*` for
    suppressed), each rate as % with its 95% interval, and the disclosure on every row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [DIMENSIONS[d] for d in report.by]
    header += [STAGES[s] for s in STAGES]
    for name, (_n, _d, text) in RATES.items():
        header += [f"{text} %", f"{name} 95% CI low %", f"{name} 95% CI high %"]
    header.append("Figures")
    writer.writerow(header)
    figures = "suppressed" if report.suppressed else "raw (unsuppressed)"
    for row in [*report.groups, report.total]:
        line: list[Any] = [_cell(label) for label in row.labels]
        line += [shown(row.counts[s]) for s in STAGES]
        for name in RATES:
            r = row.rates[name]
            if r.suppressed:
                line += ["*", "*", "*"]
            else:
                line += [_pct(r.value), _pct(r.low), _pct(r.high)]
        line.append(figures)
        writer.writerow(line)
    return out.getvalue()


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], suppressed: bool) -> str:
    """Any published table as CSV with the disclosure column the uptake CSV has."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, "Figures"])
    figures = "suppressed" if suppressed else "raw (unsuppressed)"
    for r in rows:
        writer.writerow([*r, figures])
    return out.getvalue()


def trial_csv(report: TrialReport) -> str:
    header = [
        "Group",
        "Rate",
        "Variant",
        "Numerator",
        "Denominator",
        "Rate %",
        "CI low %",
        "CI high %",
        "Difference from control (pp)",
        "Diff CI low (pp)",
        "Diff CI high (pp)",
        "p-value",
    ]
    rows = []
    for c in report.comparisons:
        rows.append(
            [
                _cell(" / ".join(c.group) or "All"),
                RATES[c.rate][2],
                c.variant,
                shown(c.numerator),
                shown(c.denominator),
                "*" if c.value.suppressed else _pct(c.value.value),
                "*" if c.value.suppressed else _pct(c.value.low),
                "*" if c.value.suppressed else _pct(c.value.high),
                "*" if c.suppressed else _pct(c.difference),
                "*" if c.suppressed else _pct(c.low),
                "*" if c.suppressed else _pct(c.high),
                "*" if c.suppressed else ("" if c.p_value is None else f"{c.p_value:.4g}"),
            ]
        )
    return table_csv(header, rows, report.suppressed)


def balance_csv(report: TrialReport) -> str:
    header = ["Characteristic", "Group"]
    for arm in report.variants:
        header += [f"{arm} n", f"{arm} %"]
    rows = []
    for b in report.balance:
        line: list[Any] = [DIMENSIONS[b.dimension], _cell(b.label)]
        for arm in report.variants:
            line += [shown(b.counts.get(arm, 0)), _pct(b.shares.get(arm))]
        rows.append(line)
    return table_csv(header, rows, report.suppressed)


def equity_csv(report: UptakeReport) -> str:
    header = [
        *(DIMENSIONS[d] for d in report.by),
        "Take-up %",
        "CI low %",
        "CI high %",
        "Ratio to overall",
        "Textable coverage %",
        "Coverage %",
    ]
    rows = []
    if report.equity is not None:
        for r in report.equity.rows:
            tu = r.take_up
            rows.append(
                [
                    *(_cell(label) for label in r.labels),
                    "*" if tu.suppressed else _pct(tu.value),
                    "*" if tu.suppressed else _pct(tu.low),
                    "*" if tu.suppressed else _pct(tu.high),
                    "" if r.ratio_to_overall is None else f"{r.ratio_to_overall:.2f}",
                    "*" if r.textable_coverage.suppressed else _pct(r.textable_coverage.value),
                    "*" if r.coverage.suppressed else _pct(r.coverage.value),
                ]
            )
    return table_csv(header, rows, report.suppressed)
