"""`flask practices ...`: register GP practices."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.runtime import get_clock, get_db
from app.services import gpconnect, practices

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


@practices_group.command("set", help="Choose where a practice's slots come from.")
@click.argument("ods")
@click.option(
    "--slot-source",
    type=click.Choice(["nudge", "gpconnect"]),
    required=True,
    help="nudge: CSV files and patterns; gpconnect: the practice's own appointment book",
)
@click.option("--gpconnect-url", default=None, help="the provider's FHIR service root")
@click.option("--gpconnect-provider-asid", default=None, help="the provider system's ASID")
@click.option(
    "--gpconnect-user-id", default=None, help="SDS user id of the practice's responsible user"
)
@click.option("--gpconnect-user-name", default=None, help="their name, e.g. 'Jane Smith'")
def set_(
    ods: str,
    slot_source: str,
    gpconnect_url: str | None,
    gpconnect_provider_asid: str | None,
    gpconnect_user_id: str | None,
    gpconnect_user_name: str | None,
) -> None:
    try:
        practice = gpconnect.set_slot_source(
            get_db(),
            ods,
            source=slot_source,
            url=gpconnect_url,
            provider_asid=gpconnect_provider_asid,
            user_id=gpconnect_user_id,
            user_name=gpconnect_user_name,
            now=get_clock().now(),
        )
    except practices.PracticeError as exc:
        raise click.ClickException(str(exc)) from exc
    where = f" ({practice.gpconnect_url})" if slot_source == "gpconnect" else ""
    click.echo(f"{practice.ods_code} takes its slots from {slot_source}{where}")


def init_app(app: Flask) -> None:
    app.cli.add_command(practices_group)
