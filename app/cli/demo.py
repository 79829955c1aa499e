"""`flask demo load`: the synthetic demo practice, patients and what other features add."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.runtime import get_clock, get_db, get_settings
from app.services import demo

demo_group = AppGroup("demo", help="The synthetic demo data.")


@demo_group.command("load", help="Load the synthetic demo (idempotent: run it any time).")
def load() -> None:
    try:
        log = demo.load_demo(get_db(), get_clock().now(), get_settings())
    except demo.DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("Demo loaded (synthetic data only):")
    for line in log:
        click.echo(f"  {line}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_group)
