"""`flask db upgrade`: create or migrate the database the settings name, with Alembic."""

from __future__ import annotations

import click
from flask import Flask, current_app

from app.data import migrate


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Create or migrate the database to the latest schema.")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    url = current_app.config["DATABASE_URL"]
    migrate.upgrade(url, revision)
    click.echo(f"Database at {migrate.display_url(url)} is at revision {revision}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
