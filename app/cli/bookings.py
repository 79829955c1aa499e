"""`flask bookings export`: the clinical-system CSV, or the batch-coding CSV (NHS Number,
SNOMED Code, Date) a practice bulk-codes back into EMIS Web or SystmOne."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.runtime import get_clock, get_db, get_settings
from app.services import attendance, practices

bookings_group = AppGroup("bookings", help="Bookings: the clinical export.")


@bookings_group.command("export", help="Invitations, declines and appointments, coded.")
@click.option("--practice", "ods", required=True, help="ODS code of the practice")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option(
    "--layout",
    type=click.Choice(["full", "coding"]),
    default="coding",
    help="coding: only coded rows as NHS Number,SNOMED Code,Date (for batch coding)",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: stdout")
def export(ods: str, first: datetime, last: datetime, layout: str, out: Path | None) -> None:
    try:
        with get_db().transaction() as session:
            practice_id = practices.require_by_ods(session, ods).id
        text, rows = attendance.export_csv(
            get_db(), practice_id=practice_id, first=first.date(), last=last.date(),
            now=get_clock().now(), actor="cli", settings=get_settings(), layout=layout,
        )  # fmt: skip
    except (practices.PracticeError, attendance.AttendanceError) as exc:
        raise click.ClickException(str(exc)) from exc
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{rows} rows written to {out}", err=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(bookings_group)
