"""`flask slots import FILE --practice ODS`: load appointment slots from a CSV."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.runtime import get_clock, get_db, get_settings
from app.services import gpconnect, slots
from app.services.practices import PracticeError

slots_group = AppGroup("slots", help="Appointment slots: load a practice's diary.")


@slots_group.command("import", help="Load a date,start,duration_minutes,location CSV.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--practice", "ods", required=True, help="ODS code of the practice")
def import_command(file: Path, ods: str) -> None:
    try:
        report = slots.import_slots(
            get_db(),
            slots.read_upload(file.read_bytes(), file.name),
            now=get_clock().now(),
            ods_code=ods,
            file_name=file.name,
            actor="cli",
        )
    except slots.SlotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.rows} rows: {report.added} added, {report.unchanged} unchanged,"
        f" {report.rejected} rejected (batch {report.batch_id})"
    )
    for problem in report.problems:
        click.echo(f"  line {problem['line']}: {problem['reason']}", err=True)
    if report.rejected and not report.added and not report.unchanged:
        raise SystemExit(1)


@slots_group.command("sync", help="Sync free slots from a GP Connect practice's own book.")
@click.option("--practice", "ods", required=True, help="ODS code of the practice")
@click.option("--days", default=None, type=click.IntRange(1, 366), help="how far ahead (28)")
def sync_command(ods: str, days: int | None) -> None:
    try:
        report = gpconnect.sync_practice(
            get_db(), ods, now=get_clock().now(), settings=get_settings(), days=days
        )
    except (gpconnect.SyncError, PracticeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())


def init_app(app: Flask) -> None:
    app.cli.add_command(slots_group)
