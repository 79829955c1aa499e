"""`flask messages list`: the conversation log, in and out, oldest first."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.domain.phone import to_e164
from app.runtime import get_db
from app.services.message_log import message_log

messages_group = AppGroup("messages", help="The SMS conversation log.")


@messages_group.command("list", help="Every message in and out, oldest first.")
@click.option("--to", "number", help="Only the conversation with this number (any UK format).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(number: str | None, as_json: bool) -> None:
    if number:
        number = _normalise(number)
    our_number = current_app.config.get("TWILIO_FROM_NUMBER") or current_app.config.get(
        "SMS_FROM_NUMBER", ""
    )
    rows = message_log(get_db(), number=number, our_number=our_number)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            arrow = "->" if row["direction"] == "out" else "<-"
            other = row["to"] if row["direction"] == "out" else row["from"]
            label = f"{row['kind']}/{row['status']}" if row["kind"] else row["status"]
            body = row["body"].replace("\n", " / ")
            click.echo(f"{row['created_at'][:19]} {arrow} {other} [{label}] {body}")
    if not rows and not as_json:
        click.echo("No messages.")


def _normalise(raw: str) -> str:
    """E.164 as stored; the drama range is allowed outside production, as everywhere else."""
    allow_test = current_app.config.get("ENV") != "production"
    number = to_e164(raw, allow_test_range=allow_test)
    if number is None:
        raise click.BadParameter(
            f"{raw!r} is not a UK mobile number, e.g. 07700 900123 or +447700900123",
            param_hint="--to",
        )
    return number


def init_app(app: Flask) -> None:
    app.cli.add_command(messages_group)
