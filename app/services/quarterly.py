"""The NHS Health Check quarterly return from Nudge's records (rules and definitions in
app.domain.quarterly): one consistent read of the funnel stamps, brought up to date first."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from app.clock import LONDON
from app.data import quarterly as quarterly_data
from app.data import report_stamps
from app.data.db import Database
from app.domain.funnel import disclosure_note
from app.domain.quarterly import (
    MEASURES,
    RATES,
    PracticeCounts,
    Quarter,
    Reconciliation,
    Row,
    campaigns_phrase,
    parse_quarter,
    publish,
)
from app.domain.suppression import Rule

REFRESH_MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class QuarterlyReturn:
    quarter: Quarter
    suppressed: bool
    rule: Rule
    total: Row
    rows: list[Row]
    reconciliation: Reconciliation
    exact_offered: int  # the reconciliation is of exact counts (it is shown as a line)
    exact_received: int
    generated_at: datetime

    @property
    def disclosure(self) -> str:
        return disclosure_note(self.suppressed, self.rule)

    @property
    def reconciled(self) -> bool:
        return self.reconciliation.holds(self.exact_offered, self.exact_received)

    @property
    def reconciliation_line(self) -> str:
        """With exact counts in a raw return; a suppressed one says only whether it holds."""
        if not self.suppressed:
            return self.reconciliation.line(self.exact_offered, self.exact_received)
        verdict = "equal" if self.reconciled else "DO NOT equal"
        return (
            f"Campaign funnels ({campaigns_phrase(self.reconciliation.campaigns)}): their "
            "invited and attended counts in the quarter, less people counted in more than "
            f"one campaign, {verdict} the offered and received totals here."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter.label,
            "from": self.quarter.first_day.isoformat(),
            "to": (self.quarter.end_day - timedelta(days=1)).isoformat(),
            "financial_quarter": self.quarter.financial,
            "suppressed": self.suppressed,
            "disclosure": self.disclosure,
            "generated_at": self.generated_at.isoformat(),
            "total": self.total.as_dict(),
            "rows": [r.as_dict() for r in self.rows],
            "reconciliation": {"reconciled": self.reconciled, "line": self.reconciliation_line},
        }


def _bounds(quarter: Quarter) -> tuple[datetime, datetime]:
    start = datetime.combine(quarter.first_day, time(0), tzinfo=LONDON)
    end = datetime.combine(quarter.end_day, time(0), tzinfo=LONDON)
    return start, end


def quarterly_return(
    db: Database,
    *,
    quarter: str | Quarter,
    rule: Rule,
    now: datetime,
    raw: bool = False,
    practice_ids: Iterable[int] | None = None,
    max_age: timedelta = REFRESH_MAX_AGE,
) -> QuarterlyReturn:
    """The return for one quarter; `raw` (admins only) gives exact counts, and the
    reconciliation line's figures (a suppressed return says only whether it holds)."""
    q = parse_quarter(quarter) if isinstance(quarter, str) else quarter
    start, end = _bounds(q)
    scope = None if practice_ids is None else sorted(set(practice_ids))
    with db.transaction() as session:
        ids = quarterly_data.campaigns_in(session, start, end - timedelta(microseconds=1))
        if ids:
            report_stamps.ensure_fresh(session, ids, now=now, max_age=max_age)
        found = quarterly_data.practice_counts(session, ids, start, end, scope) if ids else []
        sums = quarterly_data.funnel_sums(session, ids, start, end, scope) if ids else (0, 0)
        extra = quarterly_data.repeats(session, ids, start, end, scope) if ids else (0, 0)
    practices = [
        PracticeCounts(name, la, dict(zip(MEASURES, (e, o, r), strict=True)))
        for name, la, e, o, r in found
    ]
    total, rows = publish(practices, raw=raw, rule=rule)
    return QuarterlyReturn(
        quarter=q,
        suppressed=not raw,
        rule=rule,
        total=total,
        rows=rows,
        reconciliation=Reconciliation(len(ids), sums[0], sums[1], extra[0], extra[1]),
        exact_offered=sum(p.counts["offered"] for p in practices),
        exact_received=sum(p.counts["received"] for p in practices),
        generated_at=now,
    )


def quarterly_csv(result: QuarterlyReturn) -> str:
    """One row per practice, then its local authority's total, then the overall total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["# NHS Health Check quarterly return", result.quarter.label,
                     result.quarter.financial])  # fmt: skip
    writer.writerow(["# " + result.disclosure])
    header = ["Local authority", "Practice", *MEASURES.values()]
    for _name, (_n, _d, text) in RATES.items():
        header += [text, f"{text} 95% low", f"{text} 95% high"]
    writer.writerow(header)
    for row in [*result.rows, result.total]:
        line: list[Any] = [row.local_authority, row.practice or "All practices"]
        line += ["*" if row.counts[m] is None else row.counts[m] for m in MEASURES]
        for name in RATES:
            r = row.rates[name]
            if r.suppressed:
                line += ["*"] * 3
            else:
                line += ["" if v is None else f"{v:.4f}" for v in (r.value, r.low, r.high)]
        writer.writerow(line)
    writer.writerow(["# " + result.reconciliation_line])
    return out.getvalue()
