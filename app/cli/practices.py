"""`flask practices ...`: register GP practices."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.runtime import get_clock, get_db
from app.services import practices

practices_group = AppGroup("practices", help="GP practices: register and list them.")


@practices_group.command("add", help="Register a practice (or update its details).")
@click.option("--ods", required=True, help="ODS code, e.g. F84003")
@click.option("--name", required=True)
@click.option("--phone", default=None)
@click.option("--address", default=None)
@click.option("--local-authority", default=None, help="for the quarterly return")
def add(
    ods: str, name: str, phone: str | None, address: str | None, local_authority: str | None
) -> None:
    try:
        practice, created = practices.add_practice(
            get_db(), ods=ods, name=name, phone=phone, address=address,
            local_authority=local_authority, now=get_clock().now(),
        )  # fmt: skip
    except practices.PracticeError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "Added" if created else "Updated"
    click.echo(f"{verb} practice {practice.ods_code}: {practice.name}")


@practices_group.command("list", help="List the registered practices.")
def list_() -> None:
    with get_db().transaction() as session:
        rows = [(p.ods_code, p.name) for p in practices.list_practices(session)]
    for ods, name in rows:
        click.echo(f"{ods}  {name}")
    if not rows:
        click.echo("No practices yet: add one with `flask --app app practices add`.")


def init_app(app: Flask) -> None:
    app.cli.add_command(practices_group)
