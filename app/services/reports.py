"""Uptake reports: the campaign funnel, breakdowns by group, the trial and the equity view.

Each use case reads one consistent snapshot in one transaction: the funnel stamps brought
up to date (app.data.report_stamps), the stage counts by group (app.data.report_queries),
then the tables published by the domain's rules (app.domain.report_tables: margins,
disclosure control, rates and comparisons). The counting rules and rates are stated once,
in app.domain.funnel.

The funnel reads only campaign_member, whose stamps (`invited_at` ... `attended_at`) are
refreshed set-based from offers, messages and bookings while the campaign's personal data
exists: by the scheduler (`refresh_all`), by the retention purge just before it blanks the
data, and by a report that finds them older than `max_age` (a refresh scans every offer,
message and booking of the campaign: seconds at 200,000 invitations, so not on every
read). Each report says when its figures were brought up to date. After the purge the
stamps stand alone. Every aggregate is one GROUP BY in the database: no member row is
loaded into Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.data import report_queries, report_stamps
from app.data.db import Database
from app.data.report_queries import CampaignChoice
from app.domain.funnel import (
    BASELINE_DIMENSIONS,
    NOT_KNOWN,
    BalanceRow,
    ReportError,
    TrialReport,
    UptakeReport,
    check_dimensions,
    label,
)
from app.domain.report_tables import Cells, balance_rows, compare, equity_view, publish
from app.domain.suppression import Rule, disclose

REFRESH_MAX_AGE = timedelta(minutes=10)


def list_campaigns(
    db: Database, *, practice_ids: Iterable[int] | None = None
) -> list[CampaignChoice]:
    """Approved campaigns a user may report on (those touching their practices)."""
    with db.transaction() as session:
        return report_queries.list_approved_campaigns(session, practice_ids)


def campaigns_between(db: Database, start: datetime, end: datetime) -> list[int]:
    """Campaigns running at any time in [start, end]: approved by the end, not closed before
    the start. A date-range report is the funnel of those campaigns taken together."""
    with db.transaction() as session:
        return report_queries.list_campaigns_between(session, start, end)


def uptake(
    db: Database,
    *,
    campaign_ids: Sequence[int],
    by: Sequence[str] = (),
    practice_ids: Iterable[int] | None = None,
    raw: bool = False,
    rule: Rule,
    now: datetime,
    max_age: timedelta = REFRESH_MAX_AGE,
) -> UptakeReport:
    """The funnel for the campaigns, overall and by up to two crossed dimensions.

    `practice_ids` limits the figures to those practices (a practice user's own);
    `raw` gives unsuppressed counts, which callers allow only for admins; stamps older
    than `max_age` are refreshed first (timedelta(0): always).
    """
    dims = check_dimensions(by)
    scope = None if practice_ids is None else sorted(set(practice_ids))
    with db.transaction() as session:
        names = report_queries.campaign_names(session, campaign_ids)
        as_of = report_stamps.ensure_fresh(session, campaign_ids, now=now, max_age=max_age)
        cells = report_queries.aggregate(session, campaign_ids, dims, scope)
        labeller = _labeller(session, dims, cells)
        held = report_queries.count_held_for_review(session, campaign_ids, scope)
    total, groups = publish(cells, dims, raw=raw, rule=rule, labeller=labeller)
    equity = equity_view(groups, total) if dims else None
    return UptakeReport(
        campaign_ids=tuple(campaign_ids),
        campaign_names=tuple(names),
        by=dims,
        suppressed=not raw,
        rule=rule,
        total=total,
        groups=groups,
        equity=equity,
        generated_at=now,
        figures_as_of=as_of,
        held_for_review=held if raw else disclose(held, rule),
    )


def trial(
    db: Database,
    *,
    campaign_ids: Sequence[int],
    within: str | None = None,
    practice_ids: Iterable[int] | None = None,
    raw: bool = False,
    rule: Rule,
    now: datetime,
    max_age: timedelta = REFRESH_MAX_AGE,
) -> TrialReport:
    """Booking and take-up per variant against control, with Newcombe 95% intervals for the
    difference and two-sided z-test p-values, overall and within each group of `within`;
    and the balance of baseline characteristics between arms (randomisation check).

    In a suppressed report the comparison uses the rounded counts and is withheld when any
    count it needs is suppressed: a p-value must not leak a hidden cell.
    """
    if within is not None:
        check_dimensions([within])
        if within == "variant":
            raise ReportError("compare variants within another dimension, not variant")
    scope = None if practice_ids is None else sorted(set(practice_ids))
    with db.transaction() as session:
        control, arms = report_queries.trial_arms(session, campaign_ids)
        as_of = report_stamps.ensure_fresh(session, campaign_ids, now=now, max_age=max_age)
        dims: tuple[str, ...] = ("variant",) if within is None else ("variant", within)
        cells = report_queries.aggregate(session, campaign_ids, dims, scope)
        labeller = _labeller(session, dims, cells)
        balance_cells = report_queries.aggregate_by_variant(
            session, campaign_ids, BASELINE_DIMENSIONS, scope
        )
        balance_labels = {
            d: _labeller(session, ("variant", d), c) for d, c in balance_cells.items()
        }
    _total, groups = publish(cells, dims, raw=raw, rule=rule, labeller=labeller)
    comparisons = compare(groups, dims, control, arms)
    balance: list[BalanceRow] = []
    for d in BASELINE_DIMENSIONS:
        _t, bgroups = publish(
            balance_cells[d], ("variant", d), raw=raw, rule=rule, labeller=balance_labels[d]
        )
        balance.extend(balance_rows(bgroups, d, arms))
    return TrialReport(
        campaign_ids=tuple(campaign_ids),
        control=control,
        variants=tuple(arms),
        within=within,
        suppressed=not raw,
        rule=rule,
        comparisons=comparisons,
        balance=balance,
        figures_as_of=as_of,
    )


def refresh(db: Database, campaign_ids: Sequence[int], *, now: datetime) -> datetime | None:
    """Bring these campaigns' funnel stamps up to date now ("Refresh now" on a report)."""
    with db.transaction() as session:
        return report_stamps.ensure_fresh(session, campaign_ids, now=now, max_age=timedelta(0))


def refresh_all(db: Database, *, now: datetime) -> str:
    """Refresh the funnel stamps of every approved campaign not yet purged (scheduler)."""
    with db.transaction() as session:
        ids = report_stamps.live_campaign_ids(session)
        report_stamps.ensure_fresh(session, ids, now=now, max_age=timedelta(0))
    return f"funnel stamps refreshed for {len(ids)} campaigns"


def _labeller(session: Session, dims: Sequence[str], cells: Cells) -> dict[str, dict[Any, str]]:
    """Display labels for every value present, per dimension (specific groups, never
    "BAME"; ethnicity labels from app.domain.ethnicity)."""
    labels: dict[str, dict[Any, str]] = {}
    for i, d in enumerate(dims):
        values = {k[i] for k in cells}
        if d == "practice":
            names = report_queries.practice_names(session, [v for v in values if v is not None])
            labels[d] = {v: names.get(v, NOT_KNOWN) if v is not None else NOT_KNOWN for v in values}
        else:
            labels[d] = {v: label(d, v) for v in values}
    return labels
