"""`flask patients import FILE --practice ODS`: load a GP list and say what happened."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.runtime import get_clock, get_db, get_settings
from app.services import condition_review, importing
from app.services.practices import PracticeError

patients_group = AppGroup("patients", help="Patients: import a practice's list.")
SHOW_PROBLEMS = 10


@patients_group.command(
    "import",
    help="Import (or re-import) a practice's whole patient list CSV. Patients a re-import "
    "no longer lists are marked as having left the list and are never invited again.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--practice", "ods", required=True, help="ODS code of the practice")
@click.option("--by", "imported_by", default=None, help="Who is importing (default: you)")
@click.option(
    "--allow-removals",
    is_flag=True,
    help="The file is the whole list even though it drops more than a quarter of the "
    "patients listed now (without this the import stops, in case it is a partial export).",
)
@click.option(
    "--events",
    "events",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A coded-events CSV (NHS number, SNOMED CT code, date, optional value): the GP "
    "record's exclusions, checks, statins and ethnicity as coded entries.",
)
def import_(
    file: str, ods: str, imported_by: str | None, allow_removals: bool, events: str | None
) -> None:
    who = imported_by or f"cli:{getpass.getuser()}"
    allow_test = current_app.config["ENV"] != "production"
    total = importing.count_data_rows(file)

    def run(progress: Callable[[int], None] | None = None) -> importing.ImportResult:
        return importing.import_patients(
            get_db(),
            file,
            practice_ods=ods,
            now=get_clock().now(),
            imported_by=who,
            allow_test_numbers=allow_test,
            progress=progress,
            allow_removals=allow_removals,
            events=events,
            settings=get_settings(),
        )

    try:
        if total > importing.PROGRESS_BAR_ROWS:
            with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
                result = run(bar.update)
        else:
            result = run()
    except importing.PartialListError as exc:
        raise click.ClickException(
            f"{exc} If it is, run the command again with --allow-removals."
        ) from exc
    except (importing.ImportFileError, PracticeError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in summary_lines(result, ods.upper()):
        click.echo(line)


def summary_lines(result: importing.ImportResult, ods: str) -> list[str]:
    """The readable import summary (also what the web upload page can show)."""
    no_mobile = sum(result.no_usable_mobile.values())
    detail = ", ".join(f"{n:,} {k}" for k, n in sorted(result.no_usable_mobile.items()) if n)
    lines = [
        f"Imported {result.file_name} into {ods} (import {result.batch_id}):",
        f"  rows read         {result.rows:>9,}",
        f"  added             {result.added:>9,}",
        f"  updated           {result.updated:>9,}",
        f"  unchanged         {result.unchanged:>9,}",
        f"  rejected          {result.rejected:>9,}",
        f"  left the list     {result.left_list:>9,}"
        + (" (no longer listed: will not be invited)" if result.left_list else ""),
        f"  warnings          {result.warnings:>9,}",
        f"  held for review   {result.held_for_review:>9,}"
        + (
            " (a condition not recognised: not invited until resolved)"
            if result.held_for_review
            else ""
        ),
        f"  no usable mobile  {no_mobile:>9,}" + (f" ({detail})" if detail else ""),
    ]
    if result.event_rows:
        lines += [
            f"  coded events read {result.event_rows:>9,}",
            f"    in a cluster    {result.events_used:>9,}",
            f"    rejected        {result.events_rejected:>9,}",
            f"    for patients not on the list {result.events_unknown_patients:,}"
            + (" (reported, not added)" if result.events_unknown_patients else ""),
            f"    outcomes linked to attended checks {result.outcomes_linked:,}",
        ]
    if result.ignored_columns:
        lines.append("Ignored columns: " + ", ".join(result.ignored_columns))
    if result.rejected_path is not None:
        lines.append(f"Rejected rows and reasons: {result.rejected_path}")
    listed = [p for p in result.problems if not p["kind"].startswith("event")]
    coded = [p for p in result.problems if p["kind"].startswith("event")]
    shown = listed[:SHOW_PROBLEMS] + coded[:SHOW_PROBLEMS]
    if shown:
        lines.append("Problems:")
        lines += [f"  line {p['line']}: {p['kind']}: {p['reason']}" for p in shown]
        more = (
            result.rejected + result.warnings + result.events_rejected
            + result.events_unknown_patients - len(shown)
        )  # fmt: skip
        if more > 0:
            lines.append(f"  ... and {more:,} more")
    return lines


@patients_group.command(
    "recheck-conditions",
    help="Read the condition terms patients are held for review on again, after terms were "
    "added to the vocabulary: recognised ones take effect and those now clear are released.",
)
@click.option("--practice", "ods", default=None, help="ODS code (default: every practice)")
def recheck_conditions(ods: str | None) -> None:
    try:
        result = condition_review.recheck(
            get_db(), now=get_clock().now(), practice_ods=ods, actor="cli"
        )
    except PracticeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{result.changed:,} patients' conditions re-read; "
        f"{result.still_held:,} still held for review (a term still not recognised)"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(patients_group)
