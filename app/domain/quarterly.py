"""The NHS Health Check quarterly return: offered, received and take-up on the eligible
population, per local authority and practice, from Nudge's own records.

Definitions (stated on the page and in the README; each person counts once per practice,
however many campaigns they were in):
- quarter: a calendar quarter, London dates ("2026Q3" = 1 July to 30 September 2026,
  which is quarter 2 of the financial year 2026/27);
- eligible population: people in the cohort (not removed) of a campaign running in the
  quarter (approved by its end, not closed before its start);
- offered: of them, people whose first invitation SMS of a campaign left Nudge in the
  quarter (the funnel's "invited" stamp);
- received: of them, people whose check was marked attended in the quarter, having been
  invited (the funnel's "attended" stamp);
- offered / eligible, received / eligible, and take-up = received / offered, each with
  its 95% Wilson interval from the published counts.
Reconciliation: the same stamps summed over the campaign funnels (one count per member)
minus the people counted in more than one campaign gives the return's figures exactly.
Disclosure: each measure is one table of practices within local authorities within the
total, protected as the funnel is (app.domain.suppression), so no total reveals a
hidden practice.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.domain import stats
from app.domain.funnel import NOT_KNOWN, Rate
from app.domain.suppression import ALL, Rule, disclose_cube

MEASURES: dict[str, str] = {
    "eligible": "Eligible population",
    "offered": "Offered a check",
    "received": "Received a check",
}
RATES: dict[str, tuple[str, str, str]] = {
    "offered_share": ("offered", "eligible", "Offered / eligible"),
    "received_share": ("received", "eligible", "Received / eligible"),
    "take_up": ("received", "offered", "Take-up (received / offered)"),
}
_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE)


class QuarterError(ValueError):
    """Not a quarter Nudge can report on."""


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end_day(self) -> date:
        """The day after the quarter's last."""
        if self.number == 4:
            return date(self.year + 1, 1, 1)
        return date(self.year, 3 * self.number + 1, 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def financial(self) -> str:
        """The same months as a financial-year quarter (April to March)."""
        start = self.year if self.number > 1 else self.year - 1
        fq = self.number - 1 if self.number > 1 else 4
        return f"{start}/{str(start + 1)[2:]} Q{fq}"


def parse_quarter(raw: str) -> Quarter:
    match = _QUARTER.fullmatch(raw.strip())
    if not match:
        raise QuarterError(f"{raw!r} is not a quarter: write it as 2026Q3")
    return Quarter(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class PracticeCounts:
    """One practice's exact counts (distinct people) and its local authority."""

    practice: str  # "ODS name"
    local_authority: str | None
    counts: dict[str, int]


@dataclass(frozen=True)
class Row:
    local_authority: str
    practice: str | None  # None: the local authority's (or the overall) total
    counts: dict[str, int | None]  # None = suppressed
    rates: dict[str, Rate]

    def as_dict(self) -> dict[str, Any]:
        return {
            "local_authority": self.local_authority,
            "practice": self.practice,
            "counts": {k: ("*" if v is None else v) for k, v in self.counts.items()},
            "rates": {k: r.as_dict() for k, r in self.rates.items()},
        }


@dataclass(frozen=True)
class Reconciliation:
    """The return against the campaign funnels: funnel sums less people counted twice."""

    campaigns: int
    funnel_offered: int
    funnel_received: int
    offered_repeats: int  # members beyond the first, per person, among the offered
    received_repeats: int

    def holds(self, offered: int, received: int) -> bool:
        return (
            self.funnel_offered - self.offered_repeats == offered
            and self.funnel_received - self.received_repeats == received
        )

    def line(self, offered: int, received: int) -> str:
        verdict = "reconciled" if self.holds(offered, received) else "DOES NOT RECONCILE"
        return (
            f"Campaign funnels ({campaigns_phrase(self.campaigns)}): "
            f"{self.funnel_offered} invited and {self.funnel_received} attended in the "
            f"quarter; less {self.offered_repeats} and {self.received_repeats} people "
            f"counted in more than one campaign = {offered} offered and {received} "
            f"received here: {verdict}."
        )


def campaigns_phrase(n: int) -> str:
    return f"{n} campaign" + ("" if n == 1 else "s")


def rates(counts: Mapping[str, int | None]) -> dict[str, Rate]:
    out: dict[str, Rate] = {}
    for name, (num, den, _label) in RATES.items():
        x, n = counts[num], counts[den]
        if x is None or n is None:
            out[name] = Rate(None, None, None, suppressed=True)
            continue
        p = stats.proportion(min(x, n), n)
        out[name] = Rate(p.value, p.low, p.high)
    return out


def publish(practices: list[PracticeCounts], *, raw: bool, rule: Rule) -> tuple[Row, list[Row]]:
    """The return's rows: practices within local authorities (each authority's total
    after its practices), and the overall total; disclosed unless `raw`."""
    la_of = {p.practice: p.local_authority or NOT_KNOWN for p in practices}
    table: dict[tuple[Any, ...], dict[str, int]] = {}
    for p in practices:
        for key in ((p.practice,), (("la", la_of[p.practice]),), (ALL,)):
            into = table.setdefault(key, dict.fromkeys(MEASURES, 0))
            for m in MEASURES:
                into[m] += p.counts[m]
    if (ALL,) not in table:
        table[(ALL,)] = dict.fromkeys(MEASURES, 0)
    shown: dict[tuple[Any, ...], dict[str, int | None]] = {
        k: {m: v for m, v in c.items()} for k, c in table.items()
    }
    if not raw:
        parents: dict[int, dict[Hashable, Hashable]] = {
            0: {p.practice: ("la", la_of[p.practice]) for p in practices}
        }
        for m in MEASURES:
            one = disclose_cube({k: c[m] for k, c in table.items()}, rule, dims=1, parents=parents)
            for k in table:
                shown[k][m] = one[k]
    rows: list[Row] = []
    for la in sorted(set(la_of.values()), key=lambda v: (v == NOT_KNOWN, v)):
        for practice in sorted(p for p, a in la_of.items() if a == la):
            counts = shown[(practice,)]
            rows.append(Row(la, practice, counts, rates(counts)))
        counts = shown[(("la", la),)]
        rows.append(Row(la, None, counts, rates(counts)))
    total = shown[(ALL,)]
    return Row("All", None, total, rates(total)), rows
