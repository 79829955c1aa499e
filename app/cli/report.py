"""`flask report ...`: uptake and trial reports for scripts, suppressed unless --raw."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.domain import report_csv
from app.domain.funnel import DIMENSIONS, ReportError
from app.domain.quarterly import QuarterError
from app.domain.suppression import Rule
from app.runtime import get_clock, get_db
from app.services import audit, quarterly, reports

report_group = AppGroup("report", help="Uptake reports (NHS Digital suppression unless --raw).")


def _rule() -> Rule:
    return Rule(int(current_app.config["SUPPRESS_BELOW"]), int(current_app.config["ROUND_TO"]))


def _max_age(fresh: bool) -> timedelta:
    if fresh:
        return timedelta(0)
    return timedelta(seconds=int(current_app.config["REPORT_MAX_AGE_SECONDS"]))


def _campaigns(campaigns: tuple[int, ...], start: str | None, end: str | None) -> list[int]:
    if campaigns:
        return list(campaigns)
    if start and end:
        begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
        finish = datetime.fromisoformat(end).replace(tzinfo=UTC)
        found = reports.campaigns_between(get_db(), begin, finish)
        if not found:
            raise click.ClickException(f"no campaign ran between {start} and {end}")
        return found
    raise click.ClickException("give --campaign ID (repeatable) or --from and --to dates")


def _audit(kind: str, campaign_ids: list[int], by: str, raw: bool) -> None:
    with get_db().transaction() as session:
        audit.record(
            session,
            now=get_clock().now(),
            actor="cli",
            action="report.export",
            target=",".join(f"campaign:{i}" for i in campaign_ids)[:200],
            detail={"report": kind, "by": by, "raw": raw, "via": "cli"},
        )


@report_group.command("uptake", help="The funnel, overall or by up to two dimensions.")
@click.option("--campaign", "campaigns", type=int, multiple=True, help="campaign id (repeat)")
@click.option("--from", "start", help="instead of --campaign: campaigns running from (date)")
@click.option("--to", "end", help="... to (date)")
@click.option("--by", default="", help=f"comma-separated: {', '.join(DIMENSIONS)}")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--raw", is_flag=True, help="unsuppressed figures (admins only: do not publish)")
@click.option("--fresh", is_flag=True, help="refresh the funnel stamps first, however new")
def uptake(
    campaigns: tuple[int, ...],
    start: str | None,
    end: str | None,
    by: str,
    fmt: str,
    raw: bool,
    fresh: bool,
) -> None:
    ids = _campaigns(campaigns, start, end)
    try:
        result = reports.uptake(
            get_db(),
            campaign_ids=ids,
            by=by.split(","),
            raw=raw,
            rule=_rule(),
            now=get_clock().now(),
            max_age=_max_age(fresh),
        )
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("uptake", ids, by, raw)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(report_csv.uptake_csv(result), nl=False)


@report_group.command("trial", help="Variant against control, and the balance table.")
@click.option("--campaign", "campaigns", type=int, multiple=True, required=True)
@click.option("--within", default=None, help="compare within each group of this dimension")
@click.option("--table", type=click.Choice(["comparison", "balance"]), default="comparison")
@click.option("--raw", is_flag=True, help="unsuppressed figures (admins only: do not publish)")
@click.option("--fresh", is_flag=True, help="refresh the funnel stamps first, however new")
def trial(
    campaigns: tuple[int, ...], within: str | None, table: str, raw: bool, fresh: bool
) -> None:
    try:
        result = reports.trial(
            get_db(),
            campaign_ids=list(campaigns),
            within=within,
            raw=raw,
            rule=_rule(),
            now=get_clock().now(),
            max_age=_max_age(fresh),
        )
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit(f"trial:{table}", list(campaigns), within or "", raw)
    out = report_csv.trial_csv(result) if table == "comparison" else report_csv.balance_csv(result)
    click.echo(out, nl=False)


@report_group.command("quarterly", help="The NHS Health Check quarterly return.")
@click.option("--quarter", required=True, help="a calendar quarter, e.g. 2026Q3 (July-September)")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--raw", is_flag=True, help="unsuppressed figures (admins only: do not publish)")
@click.option("--fresh", is_flag=True, help="refresh the funnel stamps first, however new")
def quarterly_return(quarter: str, fmt: str, raw: bool, fresh: bool) -> None:
    try:
        result = quarterly.quarterly_return(
            get_db(), quarter=quarter, rule=_rule(), now=get_clock().now(), raw=raw,
            max_age=_max_age(fresh),
        )  # fmt: skip
    except QuarterError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit(f"quarterly:{result.quarter.label}", [], "practice", raw)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(quarterly.quarterly_csv(result), nl=False)


@report_group.command("refresh", help="Bring every live campaign's funnel stamps up to date.")
def refresh() -> None:
    click.echo(reports.refresh_all(get_db(), now=get_clock().now()))


def init_app(app: Flask) -> None:
    app.cli.add_command(report_group)
