"""`flask cohort preview|export`: who is eligible on a date, before anything is sent."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from app.clock import london_today
from app.domain import eligibility
from app.domain.ethnicity import GROUP_LABELS
from app.runtime import get_clock, get_db
from app.services import cohort
from app.services.cohort import Split

cohort_group = AppGroup("cohort", help="The eligible cohort: preview counts and export.")

practice_option = click.option(
    "--practice", "ods", required=True, multiple=True, help="ODS code (repeat for several)"
)
on_option = click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Reference date YYYY-MM-DD (default: today, Europe/London)",
)


def _on(value: datetime | None) -> date:
    return value.date() if value is not None else london_today(get_clock())


@cohort_group.command("preview", help="Print the cohort counts for practices on a date.")
@practice_option
@on_option
def preview(ods: tuple[str, ...], on: datetime | None) -> None:
    try:
        result = cohort.preview_for(get_db(), list(ods), _on(on))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in preview_lines(result, ", ".join(o.upper() for o in ods)):
        click.echo(line)


def preview_lines(p: cohort.CohortPreview, label: str) -> list[str]:
    lines = [
        f"Cohort for {label} on {p.on.isoformat()}",
        f"  listed                     {p.listed:>9,}",
        f"  eligible and textable      {p.eligible:>9,}",
        f"  eligible, not textable     {p.not_textable:>9,}",
        "  excluded:",
    ]
    names = {
        eligibility.AGE: "age outside 40-74",
        eligibility.CONDITION: "exclusion condition",
        eligibility.RECENT_CHECK: "health check in last 5 years",
        eligibility.OPTED_OUT: "opted out",
    }
    for reason in eligibility.REASONS:
        lines.append(f"    {names[reason]:<28} {p.excluded.get(reason, 0):>7,}")
    lines.append("  not invited until resolved:")
    lines.append(f"    {'held for review (unrecognised condition)':<42} {p.needs_review:>7,}")
    for term, n in p.review_terms.items():
        lines.append(f"      {term[:60]!r:<40} {n:>7,}")
    tables: tuple[tuple[str, dict[str, Split], dict[str, str]], ...] = (
        ("age band", p.by_age_band, {}),
        ("sex", p.by_sex, eligibility.SEX_LABELS),
        ("ethnic group", p.by_ethnic_group, GROUP_LABELS),
        ("IMD quintile (1 = most deprived)", p.by_imd_quintile, {"unknown": "not known"}),
    )
    for title, table, labels in tables:
        lines.append(f"Eligible by {title}:")
        lines.append(f"    {'':<28} {'textable':>9} {'not textable':>13}")
        for key, split in table.items():
            lines.append(
                f"    {labels.get(key, key):<28} {split.textable:>9,} {split.not_textable:>13,}"
            )
    return lines


@cohort_group.command("export", help="Write nhs_number,status,reason for every patient.")
@practice_option
@on_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
def export(ods: tuple[str, ...], on: datetime | None, out: str) -> None:
    try:
        with open(out, "w", encoding="utf-8", newline="") as f:
            count = cohort.export_csv(
                get_db(), list(ods), _on(on), f, now=get_clock().now(), actor="cli"
            )
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {count:,} patients to {out}")


def init_app(app: Flask) -> None:
    app.cli.add_command(cohort_group)
